"""Who answers the simulator's outbound calls (AMI Originate into cc-outbound), and how.

    pbx.callees["5550101"] = Callee("human", talk_s=5)     # a person; AMD says HUMAN
    pbx.callees["5550102"] = Callee("machine")              # AMD says MACHINE
    pbx.callees["5550103"] = Callee("busy")                 # OriginateResponse Reason 5

A number with no entry does not exist: OriginateResponse Failure, Reason 0 (as a Local channel
to a missing extension or an unknown peer does). The Reason codes, the AMDSTATUS/AMDCAUSE pairs
and the Hangup causes are those of ../shared/asterisk/transcripts/ami-originate-*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["AMD_RESULTS", "KNOWN_TECHS", "REASONS", "AmdVerdict", "Behaviour", "Callee"]

Behaviour = Literal[
    "human", "machine", "notsure", "amd_hangup", "busy", "noanswer", "congestion", "invalid"
]

# Channel technologies the simulated Asterisk has loaded (others: Reason 0 at once).
KNOWN_TECHS = frozenset({"SIP", "PJSIP", "IAX2", "Local", "DAHDI"})

# Behaviour of a callee who does not answer -> (OriginateResponse Reason, Hangup cause).
REASONS: dict[str, tuple[int, int]] = {
    "busy": (5, 17),
    "congestion": (8, 34),
    "noanswer": (3, 19),
    "invalid": (0, 0),
}

# Behaviour of a callee who answers -> (AMDSTATUS, AMDCAUSE), as recorded.
AMD_RESULTS: dict[str, tuple[str, str]] = {
    "human": ("HUMAN", "HUMAN-800-800"),
    "machine": ("MACHINE", "MAXWORDS-3-2"),
    "notsure": ("NOTSURE", "TOOLONG-4920"),
    "amd_hangup": ("HANGUP", ""),
}


@dataclass(frozen=True, slots=True)
class Callee:
    behaviour: Behaviour = "human"
    answer_delay_s: float = 0.05
    amd_delay_s: float = 0.1
    # A person who answered: how long they wait for an agent, then talk.
    patience_s: float = 30.0
    talk_s: float = 5.0


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    status: str
    cause: str
    delay_s: float

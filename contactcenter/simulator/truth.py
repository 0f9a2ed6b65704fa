"""Ground truth: what really happened to each simulated call, to check the server's records and
figures against. Times come from the simulator's clock.

- `arrived_at`: the FastAGI connection opened (None if the server was unreachable).
- `answered_at`: the caller's BridgeEnter with the agent's leg.
- `hung_up_at` / `hung_up_by`: the caller's Hangup event; "caller" if the caller (or the
  simulated caller's patience) ended it, "server" if our server did (AMI Hangup, AGI HANGUP,
  the dialplan after the server's choice, or the agent's leg).
- `outcome`: "answered" (bridged to an agent), "abandoned" (the caller left first), "failed"
  (the server could not take the call: unreachable, crashed, fallback, hung up unanswered).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CallTruth", "GroundTruth"]


@dataclass
class CallTruth:
    seq: int
    caller_number: str | None
    dnid: str
    patience_s: float = 0.0
    talk_s: float = 0.0
    arrived_at: float | None = None
    answered_at: float | None = None
    hung_up_at: float | None = None
    hung_up_by: str | None = None
    outcome: str = "failed"
    endpoint: str | None = None
    uniqueid: str = ""
    channel: str = ""
    agi_sessions: int = 0
    dial_attempts: int = 0
    # call control, as the PBX saw it
    holds: int = 0
    resumes: int = 0
    muted: bool | None = None
    dtmf_sent: str = ""
    recording: str | None = None
    recording_stopped: bool = False
    transferred_to: str | None = None
    spied_by: list[str] = field(default_factory=list)
    voicemail: str | None = None  # the mailbox the caller was sent to ([cc-voicemail])
    heard: list[str] = field(default_factory=list)  # prompts played to the caller over AGI
    # outbound: the Originate's verdict ("answered", "busy", ...) and AMD's
    originate_reason: int | None = None
    amd_status: str | None = None

    @property
    def wait_s(self) -> float | None:
        """Seconds from arrival to answer (answered) or hang-up (not answered)."""
        if self.arrived_at is None:
            return None
        end = self.answered_at if self.answered_at is not None else self.hung_up_at
        return None if end is None else end - self.arrived_at

    @property
    def talk_time_s(self) -> float | None:
        if self.answered_at is None or self.hung_up_at is None:
            return None
        return self.hung_up_at - self.answered_at


@dataclass
class GroundTruth:
    calls: list[CallTruth] = field(default_factory=list)

    def add(self, call: CallTruth) -> None:
        self.calls.append(call)

    def outcomes(self) -> Counter[str]:
        return Counter(c.outcome for c in self.calls)

    @property
    def answered(self) -> list[CallTruth]:
        return [c for c in self.calls if c.outcome == "answered"]

    @property
    def abandoned(self) -> list[CallTruth]:
        return [c for c in self.calls if c.outcome == "abandoned"]

    @property
    def failed(self) -> list[CallTruth]:
        return [c for c in self.calls if c.outcome == "failed"]

    def summary(self) -> dict[str, float | int | None]:
        """Counts and means, for a CLI line or a benchmark figure."""
        answered = self.answered
        waits = [c.wait_s for c in answered if c.wait_s is not None]
        talks = [c.talk_time_s for c in answered if c.talk_time_s is not None]
        return {
            "calls": len(self.calls),
            "answered": len(answered),
            "abandoned": len(self.abandoned),
            "failed": len(self.failed),
            "mean_answer_wait_s": sum(waits) / len(waits) if waits else None,
            "mean_talk_s": sum(talks) / len(talks) if talks else None,
        }

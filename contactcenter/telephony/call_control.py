"""CallControl over AMI: send a waiting caller to an agent, hang a call up."""

from __future__ import annotations

import logging
import math

from contactcenter.ids import CallId
from contactcenter.ports import CallControl
from contactcenter.telephony.ami import AmiClient
from contactcenter.telephony.channels import ChannelRegistry
from contactcenter.telephony.errors import AmiActionError, TelephonyError, UnknownCall

__all__ = ["CONNECT_CONTEXT", "AmiCallControl"]

logger = logging.getLogger(__name__)

CONNECT_CONTEXT = "cc-connect"


class AmiCallControl:
    """Implements contactcenter.ports.CallControl with AMI actions on the caller's channel.

    The dialplan's `cc-connect,s,1` dials ${CC_ENDPOINT} for ${CC_RING_TIMEOUT} seconds.
    """

    def __init__(self, ami: AmiClient, registry: ChannelRegistry) -> None:
        self._ami = ami
        self._registry = registry

    def _channel(self, call_id: CallId) -> str:
        channel = self._registry.channel_of(call_id)
        if channel is None:
            raise UnknownCall(f"no Asterisk channel known for call {call_id}")
        return channel

    async def connect_to_agent(self, call_id: CallId, endpoint: str, ring_timeout_s: float) -> None:
        channel = self._channel(call_id)
        ring = str(max(1, math.ceil(ring_timeout_s)))
        logger.info(
            "connect call_id=%s channel=%s endpoint=%s ring_timeout_s=%s",
            call_id, channel, endpoint, ring,
        )  # fmt: skip
        try:
            for name, value in (("CC_ENDPOINT", endpoint), ("CC_RING_TIMEOUT", ring)):
                await self._ami.action(
                    "Setvar", {"Channel": channel, "Variable": name, "Value": value}
                )
            await self._ami.action(
                "Redirect",
                {"Channel": channel, "Context": CONNECT_CONTEXT, "Exten": "s", "Priority": "1"},
            )
        except AmiActionError as exc:
            logger.warning("connect failed call_id=%s: %s", call_id, exc)
            raise TelephonyError(_message(exc)) from exc

    async def hangup(self, call_id: CallId) -> None:
        channel = self._channel(call_id)
        logger.info("hangup call_id=%s channel=%s", call_id, channel)
        try:
            await self._ami.action("Hangup", {"Channel": channel})
        except AmiActionError as exc:
            logger.warning("hangup failed call_id=%s: %s", call_id, exc)
            raise TelephonyError(_message(exc)) from exc


def _is_call_control(control: AmiCallControl) -> CallControl:
    return control  # mypy checks that AmiCallControl implements the port


def _message(exc: AmiActionError) -> str:
    return exc.response.get("Message") or str(exc)

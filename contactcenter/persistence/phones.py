"""Phone numbers as the customer directory stores and matches them."""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"\D")


def normalise_phone(number: str) -> str:
    """Keep the digits and a leading '+': "+1 (555) 010-0001" -> "+15550100001".

    A '+' anywhere but first (after leading spaces) is dropped with the other punctuation.
    Returns "" when the text has no digit at all.
    """
    stripped = number.strip()
    digits = _NOT_DIGIT.sub("", stripped)
    if not digits:
        return ""
    return ("+" + digits) if stripped.startswith("+") else digits

"""Passwords (argon2) and signed, expiring login tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contactcenter.clock import Clock
from contactcenter.records import Role

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


# A valid hash to verify against when the user does not exist, so that a wrong username and a
# wrong password take the same time and give the same answer.
DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    role: Role
    expires_at: float


class TokenSigner:
    """HMAC-SHA256 signed tokens: base64url(json claims) + '.' + base64url(signature)."""

    def __init__(self, secret: str, clock: Clock, ttl_s: int) -> None:
        self._key = (secret or secrets.token_hex(32)).encode()
        self._clock = clock
        self._ttl_s = ttl_s

    def issue(self, username: str, role: Role) -> str:
        claims = {"u": username, "r": role.value, "exp": self._clock.now() + self._ttl_s}
        body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body.decode()}.{self._sign(body)}"

    def verify(self, token: object) -> TokenClaims | None:
        if not isinstance(token, str) or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        if not hmac.compare_digest(self._sign(body.encode()), signature):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(body.encode()))
            result = TokenClaims(str(claims["u"]), Role(claims["r"]), float(claims["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if result.expires_at < self._clock.now():
            return None
        return result

    def _sign(self, body: bytes) -> str:
        digest = hmac.new(self._key, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

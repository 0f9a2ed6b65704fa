from __future__ import annotations

from contactcenter.auth import TokenSigner, hash_password, verify_password
from contactcenter.clock import FakeClock
from contactcenter.records import Role


def test_password_hash_round_trip() -> None:
    h = hash_password("s3cret")
    assert verify_password(h, "s3cret")
    assert not verify_password(h, "S3cret")
    assert not verify_password("not-a-hash", "s3cret")


def test_token_verifies_until_it_expires() -> None:
    clock = FakeClock()
    signer = TokenSigner("k", clock, ttl_s=60)
    token = signer.issue("agent1", Role.AGENT)
    claims = signer.verify(token)
    assert claims is not None and claims.username == "agent1" and claims.role is Role.AGENT
    clock.advance(61)
    assert signer.verify(token) is None


def test_forged_or_garbage_tokens_are_refused() -> None:
    clock = FakeClock()
    signer = TokenSigner("k", clock, ttl_s=60)
    other = TokenSigner("other-key", clock, ttl_s=60)
    assert signer.verify(other.issue("admin", Role.ADMIN)) is None
    token = signer.issue("agent1", Role.AGENT)
    body, sig = token.split(".")
    assert signer.verify(body + "." + sig[:-2] + "xx") is None
    for junk in (None, 42, "", "a.b.c", "....", "%%%.%%%"):
        assert signer.verify(junk) is None

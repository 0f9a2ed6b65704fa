"""Web callback requests over HTTP: the site's API key or a user's token, validation that names
the field, agents see only their own, cancel rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from contactcenter.harness import RunningSystem, running_system
from contactcenter.seed import DEMO_PASSWORD
from contactcenter.settings import AgiSettings, CallbackSettings, HttpSettings, Settings

WEB_KEY = "site-key-0123456789"


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[RunningSystem]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cc.db'}",
        http=HttpSettings(port=0),
        agi=AgiSettings(port=0),
        callbacks=CallbackSettings(web_api_key=WEB_KEY),
    )
    async with running_system(settings, n_agents=2, n_customers=3) as running:
        yield running


async def _token(http: aiohttp.ClientSession, base: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": DEMO_PASSWORD}
    async with http.post(f"{base}/api/auth/login", json=body) as resp:
        assert resp.status == 200
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def _post(
    http: aiohttp.ClientSession, base: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.post(f"{base}/api/callbacks", json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_web_site_requests_with_its_key_and_gets_a_clear_error_without(
    system: RunningSystem,
) -> None:
    base = system.base_url
    later = system.runtime.clock.now() + 3600
    async with aiohttp.ClientSession() as http:
        status, body = await _post(
            http, base, {"number": "+1 555 010 0099", "preferred_at": later}, {}
        )
        assert status == 401
        status, body = await _post(http, base, {"number": "+15550100099"}, {"X-Api-Key": "wrong"})
        assert (status, body["error"]) == (401, "invalid API key")
        status, body = await _post(
            http,
            base,
            {"number": "+1 555 010 0099", "preferred_at": later, "note": "after 5pm"},
            {"X-Api-Key": WEB_KEY},
        )
        assert status == 201, body
        assert body["number"] == "+15550100099" and body["queue_id"] == "support"
        assert body["state"] == "scheduled" and body["source"] == "web"
        assert body["due_at"] == pytest.approx(later, abs=1e-3) and body["requested_by"] == "web"
        for bad, field in (
            ({"number": "not a number"}, "number"),
            ({"number": "5550100", "queue_id": "nope"}, "queue_id"),
            ({"number": "5550100", "customer_id": 99999}, "customer_id"),
            ({"number": "5550100", "colour": "red"}, "colour"),
            ({"preferred_at": later}, "number"),
        ):
            status, error = await _post(http, base, bad, {"X-Api-Key": WEB_KEY})
            assert (status, error["field"]) == (400, field), (bad, error)
        async with http.post(
            f"{base}/api/callbacks", data=b"[1,2", headers={"X-Api-Key": WEB_KEY}
        ) as resp:
            assert resp.status == 400
    stored = await system.runtime.db.callbacks.find()
    assert [c.number for c in stored] == ["+15550100099"]  # refused requests stored nothing


async def test_agents_see_and_cancel_only_their_own_supervisors_all(
    system: RunningSystem,
) -> None:
    base = system.base_url
    later = system.runtime.clock.now() + 3600
    async with aiohttp.ClientSession() as http:
        agent1 = await _token(http, base, "agent1")
        agent2 = await _token(http, base, "agent2")
        supervisor = await _token(http, base, "supervisor")
        status, mine = await _post(http, base, {"number": "5550101", "preferred_at": later}, agent1)
        assert status == 201 and mine["source"] == "agent" and mine["requested_by"] == "agent1"
        status, theirs = await _post(
            http, base, {"number": "5550102", "preferred_at": later}, agent2
        )
        assert status == 201
        async with http.get(f"{base}/api/callbacks", headers=agent1) as resp:
            assert [c["id"] for c in (await resp.json())["callbacks"]] == [mine["id"]]
        async with http.get(f"{base}/api/callbacks/{theirs['id']}", headers=agent1) as resp:
            assert resp.status == 404
        async with http.delete(f"{base}/api/callbacks/{theirs['id']}", headers=agent1) as resp:
            assert resp.status == 404
        async with http.get(
            f"{base}/api/callbacks?state=scheduled,queued", headers=supervisor
        ) as resp:
            ids = {c["id"] for c in (await resp.json())["callbacks"]}
            assert ids == {mine["id"], theirs["id"]}
        async with http.get(f"{base}/api/callbacks?state=later", headers=supervisor) as resp:
            assert resp.status == 400 and (await resp.json())["field"] == "state"
        async with http.delete(f"{base}/api/callbacks/{mine['id']}", headers=agent1) as resp:
            assert resp.status == 200 and (await resp.json())["state"] == "cancelled"
        async with http.delete(f"{base}/api/callbacks/{mine['id']}", headers=supervisor) as resp:
            assert resp.status == 409  # already cancelled, and the error says so
            assert "cancelled" in (await resp.json())["error"]

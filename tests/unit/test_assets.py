"""The browser bundles: a clear error without Node.js, and a real build with npm."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent_desktop import assets
from agent_desktop.assets import AssetsError, assets_built, ensure_built
from contactcenter.errors import ContactCenterError
from tests.conftest import require_service

SOURCES = ("package.json", "package-lock.json", "src")


def _copy_sources(to: Path) -> Path:
    for name in SOURCES:
        source = assets.PACKAGE_DIR / name
        if source.is_dir():
            shutil.copytree(source, to / name)
        else:
            shutil.copy2(source, to / name)
    return to


def test_without_npm_on_path_the_error_says_node_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _copy_sources(tmp_path)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))

    with pytest.raises(AssetsError) as info:
        ensure_built(project)

    assert isinstance(info.value, ContactCenterError)
    message = str(info.value)
    assert message.startswith(
        "Node.js and npm are required to build the agent desktop (agent_desktop/)."
    )
    assert "Install Node.js 18+" in message
    assert not assets_built(project)


def test_npm_present_but_node_missing_is_the_same_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _copy_sources(tmp_path)
    found = {"npm": "/usr/bin/npm", "node": None}
    monkeypatch.setattr(shutil, "which", lambda name: found.get(name))

    with pytest.raises(AssetsError, match=r"Node\.js and npm are required"):
        ensure_built(project)


def test_built_bundles_need_no_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "static" / "dist"
    dist.mkdir(parents=True)
    for name in assets.BUNDLES:
        (dist / name).write_text("export {};\n")
    monkeypatch.setenv("PATH", "")

    assert assets_built(tmp_path)
    ensure_built(tmp_path)  # nothing to do: no npm needed, no error


def test_an_empty_or_partial_dist_is_not_built(tmp_path: Path) -> None:
    dist = tmp_path / "static" / "dist"
    dist.mkdir(parents=True)
    (dist / "desktop.js").write_text("export {};\n")
    (dist / "wallboard.js").write_text("")

    assert not assets_built(tmp_path)


def test_ensure_built_runs_npm_and_bundles_both_pages(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        require_service("node", "node and npm are not on PATH")
    project = _copy_sources(tmp_path)
    assert not assets_built(project)

    ensure_built(project)

    assert assets_built(project)
    dist = project / "static" / "dist"
    desktop = (dist / "desktop.js").read_text()
    wallboard = (dist / "wallboard.js").read_text()
    # socket.io-client comes from npm and is bundled in; the pages' own code is there too.
    assert "socket.io" in desktop and "/agent" in desktop and "call.disposition" in desktop
    assert "/wallboard" in wallboard and "wallboard.snapshot" in wallboard
    assert (project / "node_modules" / "socket.io-client").is_dir()


def test_the_pages_load_the_bundles_and_carry_the_test_ids() -> None:
    desktop = (assets.STATIC_DIR / "desktop.html").read_text()
    wallboard = (assets.STATIC_DIR / "wallboard.html").read_text()
    assert 'src="/static/dist/desktop.js"' in desktop
    assert 'src="/static/dist/wallboard.js"' in wallboard
    for test_id in (
        "login-username",
        "login-password",
        "login-submit",
        "login-error",
        "state-label",
        "state-timer",
        "calls-today",
        "btn-ready",
        "btn-not-ready",
        "not-ready-reason",
        "screen-pop",
        "pop-customer-name",
        "pop-account",
        "pop-tier",
        "pop-notes",
        "pop-queue",
        "pop-wait",
        "pop-history",
        "btn-answer",
        "call-panel",
        "talk-timer",
        "btn-hangup",
        "wrapup-panel",
        "disposition-select",
        "disposition-note",
        "btn-save-disposition",
        "saved-message",
        "error-banner",
        "reconnect-banner",
    ):
        assert f'data-testid="{test_id}"' in desktop, test_id
    for test_id in ("login-username", "login-submit", "forbidden", "reconnect-banner"):
        assert f'data-testid="{test_id}"' in wallboard, test_id

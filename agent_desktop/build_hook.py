"""Hatchling build hook: bundle the agent desktop and wallboard with npm when the package is
built or installed (wheel and editable installs alike).

Hatchling loads this file by path inside an isolated build environment, where the project's
own packages cannot be imported, so it is self-contained (agent_desktop/assets.py does the same
job at first start). Without Node.js the install still succeeds, with a warning: the bundles are
then built on first start, or the server says clearly that Node.js is needed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

# hatchling is only present in the build environment (typed there, missing from the dev venv).
from hatchling.builders.hooks.plugin.interface import (  # type: ignore[import-not-found, unused-ignore]
    BuildHookInterface,
)

BUNDLES = ("desktop.js", "wallboard.js")
NPM_TIMEOUT_S = 600.0


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc, unused-ignore]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        project_dir = Path(self.root) / "agent_desktop"
        if not (project_dir / "package.json").is_file():
            return  # nothing to build (e.g. a wheel built from a tree without the sources)
        npm, node = shutil.which("npm"), shutil.which("node")
        if npm is None or node is None:
            self._warn(
                "Node.js and npm were not found: the agent desktop (agent_desktop/) was not "
                "bundled. Install Node.js 18+ with npm; the bundles are then built on the "
                "server's first start (or run `npm ci && npm run build` in agent_desktop/)."
            )
            return
        try:
            if _needs_install(project_dir):
                lockfile = (project_dir / "package-lock.json").is_file()
                _npm(npm, ["ci" if lockfile else "install", "--no-audit", "--no-fund"], project_dir)
            _npm(npm, ["run", "build"], project_dir)
        except (OSError, subprocess.SubprocessError) as exc:
            self._warn(
                f"building the agent desktop with npm failed ({exc}); the bundles will be built "
                "on the server's first start."
            )
            return
        dist = project_dir / "static" / "dist"
        missing = [name for name in BUNDLES if not (dist / name).is_file()]
        if missing:
            self._warn(f"`npm run build` did not produce {', '.join(missing)} in {dist}")

    def _warn(self, message: str) -> None:
        self.app.display_warning(f"contactcenter: {message}")


def _needs_install(project_dir: Path) -> bool:
    installed = project_dir / "node_modules" / ".package-lock.json"
    lockfile = project_dir / "package-lock.json"
    if not installed.is_file():
        return True
    return lockfile.is_file() and lockfile.stat().st_mtime > installed.stat().st_mtime


def _npm(npm: str, args: list[str], cwd: Path) -> None:
    done = subprocess.run(
        [npm, *args], cwd=cwd, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise subprocess.SubprocessError(
            f"`npm {' '.join(args)}` exited with status {done.returncode}:\n{tail}"
        )

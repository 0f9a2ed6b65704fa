"""The agent desktop's and wallboard's browser bundles (static/dist/), built with npm.

The bundles are normally built when the Python package is built or installed (build_hook.py).
A checkout or an install without them gets them on first start: `ensure_built()` runs
`npm ci` (or `npm install` without a lockfile) and `npm run build` in this directory.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from contactcenter.errors import ContactCenterError

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
DIST_DIR = STATIC_DIR / "dist"
BUNDLES = ("desktop.js", "wallboard.js")
NPM_TIMEOUT_S = 600.0

NODE_REQUIRED = (
    "Node.js and npm are required to build the agent desktop (agent_desktop/). "
    "Install Node.js 18+ (with npm) from https://nodejs.org/ or your system's packages "
    "(e.g. `apt-get install nodejs npm`), make sure `node` and `npm` are on PATH, then start "
    "again or run `npm ci && npm run build` in {project_dir}."
)


class AssetsError(ContactCenterError):
    """The browser bundles are missing and could not be built."""


def dist_dir(project_dir: Path = PACKAGE_DIR) -> Path:
    return project_dir / "static" / "dist"


def assets_built(project_dir: Path = PACKAGE_DIR) -> bool:
    """True when every bundle exists (and is not empty) under `project_dir`/static/dist."""
    dist = dist_dir(project_dir)
    return all(_non_empty(dist / name) for name in BUNDLES)


def ensure_built(project_dir: Path = PACKAGE_DIR) -> None:
    """Build the bundles unless they are there. Raises AssetsError when they cannot be built."""
    if assets_built(project_dir):
        return
    with _build_lock(project_dir):
        if assets_built(project_dir):  # another process built them while we waited
            return
        build(project_dir)


def build(project_dir: Path = PACKAGE_DIR) -> None:
    """Install the npm dependencies (when needed) and bundle src/ into static/dist/."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise AssetsError(NODE_REQUIRED.format(project_dir=project_dir))
    if not (project_dir / "package.json").is_file():
        raise AssetsError(
            f"the agent desktop bundles are missing from {dist_dir(project_dir)} and there is no "
            f"package.json in {project_dir} to build them from; reinstall the package"
        )
    logger.info("building the agent desktop bundles with npm in %s", project_dir)
    if _needs_install(project_dir):
        lockfile = (project_dir / "package-lock.json").is_file()
        install = "ci" if lockfile else "install"
        _npm(npm, [install, "--prefer-offline", "--no-audit", "--no-fund"], project_dir)
    _npm(npm, ["run", "build"], project_dir)
    if not assets_built(project_dir):
        raise AssetsError(
            f"`npm run build` finished but {', '.join(BUNDLES)} are not all in "
            f"{dist_dir(project_dir)}"
        )
    logger.info("agent desktop bundles built in %s", dist_dir(project_dir))


def _needs_install(project_dir: Path) -> bool:
    """node_modules is missing or older than the lockfile (npm writes its own copy of the
    lockfile, node_modules/.package-lock.json, at every install)."""
    installed = project_dir / "node_modules" / ".package-lock.json"
    lockfile = project_dir / "package-lock.json"
    if not installed.is_file():
        return True
    return lockfile.is_file() and lockfile.stat().st_mtime > installed.stat().st_mtime


def _npm(npm: str, args: Sequence[str], cwd: Path) -> None:
    command = [npm, *args]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssetsError(f"`{' '.join(['npm', *args])}` in {cwd} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()
        tail = "\n".join(output[-20:])
        raise AssetsError(
            f"`{' '.join(['npm', *args])}` in {cwd} exited with status {done.returncode}:\n{tail}"
        )


def _non_empty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


@contextmanager
def _build_lock(project_dir: Path) -> Iterator[None]:
    """One build at a time per directory across processes (POSIX; elsewhere, no lock)."""
    if sys.platform == "win32":
        yield
        return
    import fcntl

    key = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"contactcenter-assets-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

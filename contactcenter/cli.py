"""The `contactcenter` command: serve, demo, db upgrade, user add / set, asterisk import."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from contactcenter.cli_users import add_parsers as add_user_parsers
from contactcenter.cli_users import add_user, checked_add_args, describe, set_user
from contactcenter.errors import ConfigError, ContactCenterError, InvalidRequest, NotFound
from contactcenter.settings import Settings, load_settings

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contactcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server against a real Asterisk")
    serve.add_argument("--config", help="settings file (TOML)")

    demo = sub.add_parser("demo", help="run the server with the built-in PBX simulator")
    demo.add_argument("--config", help="settings file (TOML)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds (no browser)")
    demo.add_argument("--rate", type=float, default=0.5, help="calls per second (default 0.5)")
    demo.add_argument("--agents", type=int, default=6, help="simulated agents (default 6)")
    demo.add_argument("--seed", type=int, default=7)

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply the migrations")
    up.add_argument("--config", help="settings file (TOML)")

    asterisk = sub.add_parser("asterisk", help="migrate from an existing Asterisk")
    asterisk_sub = asterisk.add_subparsers(dest="asterisk_command", required=True)
    imp = asterisk_sub.add_parser(
        "import", help="turn an app_queue queues.conf into [[queues]] settings and agents"
    )
    imp.add_argument("queues_conf", help="path of queues.conf")
    imp.add_argument("--out", help="write the settings TOML here (default: print it)")
    imp.add_argument("--agents-out", help="also write the agents as [[agents]] TOML here")

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add_user_parsers(user_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "asterisk":
        return _asterisk_import(args)
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            asyncio.run(_serve(settings))
        elif args.command == "demo":
            from contactcenter.demo import run_demo

            return asyncio.run(
                run_demo(
                    settings,
                    duration_s=args.duration,
                    rate=args.rate,
                    n_agents=args.agents,
                    seed=args.seed,
                )
            )
        elif args.command == "db":
            from contactcenter.persistence.db import upgrade

            asyncio.run(upgrade(settings.database_url))
            print(f"database is up to date: {settings.database_url}")
        elif args.command == "user":
            return _user(settings, args)
    except KeyboardInterrupt:
        return 130
    except ContactCenterError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1
    return 0


def _asterisk_import(args: argparse.Namespace) -> int:
    """`asterisk import queues.conf`: needs no settings, database or server."""
    from pathlib import Path

    from contactcenter.asterisk_import import agents_toml, parse_queues_conf, settings_toml

    try:
        imported = parse_queues_conf(args.queues_conf)
        settings_text = settings_toml(imported)
        if args.out:
            Path(args.out).write_text(settings_text, encoding="utf-8")
        else:
            sys.stdout.write(settings_text)
        if args.agents_out:
            Path(args.agents_out).write_text(agents_toml(imported), encoding="utf-8")
    except ContactCenterError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"contactcenter: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"imported {len(imported.queues)} queue(s) and {len(imported.agents)} agent(s) "
        f"from {args.queues_conf}",
        file=sys.stderr,
    )
    return 0


async def _serve(settings: Settings) -> None:
    from contactcenter.app import SHUTDOWN_TIMEOUT_S, create_app

    runner = web.AppRunner(create_app(settings), shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    print(f"contactcenter serving on http://{settings.http.host}:{settings.http.port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _user(settings: Settings, args: argparse.Namespace) -> int:
    """`user add` / `user set`: bad input (a bad skill, level or penalty, an unconfigured
    queue, an unknown or taken username) is one line on stderr and exit status 2."""
    try:
        if args.user_command == "add":
            checked_add_args(settings, args)  # before asking for the password
            password = getpass.getpass(f"password for {args.username}: ")
            added = asyncio.run(add_user(settings, args, password))
            print(f"user added: {describe(added)}")
        else:
            changed = asyncio.run(set_user(settings, args))
            print(f"user changed: {describe(changed)}")
    except (InvalidRequest, NotFound) as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0

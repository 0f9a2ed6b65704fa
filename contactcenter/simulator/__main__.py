"""`python -m contactcenter.simulator --agi 127.0.0.1:4573 --ami-port 5038 --rate 0.5 --calls 20`

Starts the simulated Asterisk (AMI server on --ami-port), waits for the contact-center server to
log in over AMI, places the calls against its FastAGI port, and prints the ground truth summary
as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from contactcenter.clock import SystemClock
from contactcenter.simulator.agi_commands import AgiTiming
from contactcenter.simulator.pbx import SimulatedPbx
from contactcenter.simulator.traffic import TrafficGenerator

logger = logging.getLogger("contactcenter.simulator")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m contactcenter.simulator", description=__doc__)
    p.add_argument("--agi", type=_host_port, default=("127.0.0.1", 4573), help="FastAGI server")
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--ami-user", default="cc")
    p.add_argument("--ami-secret", default="ccsecret")
    p.add_argument("--rate", type=float, default=0.5, help="mean arrivals per second")
    p.add_argument("--calls", type=int, default=None, help="number of calls")
    p.add_argument("--duration", type=float, default=None, help="seconds of arrivals")
    p.add_argument("--patience", type=float, default=60.0, help="mean caller patience (s)")
    p.add_argument("--talk", type=float, default=30.0, help="mean talk time (s)")
    p.add_argument("--known", default="", help="comma-separated known customer numbers")
    p.add_argument("--unknown-share", type=float, default=0.3)
    p.add_argument("--dnid", default="100")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--answer-delay", type=float, default=0.05, help="agent phone pick-up (s)")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="IVR timeouts x this")
    p.add_argument("--wait-ami", type=float, default=30.0, help="wait for an AMI login (s)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.calls is None and args.duration is None:
        args.calls = 10
    return args


async def run(args: argparse.Namespace) -> dict[str, float | int | None]:
    agi_host, agi_port = args.agi
    pbx = SimulatedPbx(
        SystemClock(),
        agi_host=agi_host,
        agi_port=agi_port,
        ami_username=args.ami_user,
        ami_secret=args.ami_secret,
        phone_answer_delay_s=args.answer_delay,
        timing=AgiTiming(timeout_scale=args.timeout_scale),
    )
    await pbx.start(args.ami_host, args.ami_port)
    try:
        waited = 0.0
        while pbx.ami.clients == 0 and waited < args.wait_ami:
            await asyncio.sleep(0.1)
            waited += 0.1
        if pbx.ami.clients == 0:
            logger.warning("no AMI client logged in; placing calls anyway")
        traffic = TrafficGenerator(
            pbx,
            rate_per_s=args.rate,
            patience_mean_s=args.patience,
            talk_mean_s=args.talk,
            known_numbers=[n for n in args.known.split(",") if n],
            unknown_share=args.unknown_share,
            dnid=args.dnid,
            seed=args.seed,
        )
        truth = await traffic.run(n_calls=args.calls, duration_s=args.duration)
        return truth.summary()
    finally:
        await pbx.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        summary = asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

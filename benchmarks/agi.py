"""FastAGI server throughput: one `FastAgiServer` in its own process (pinned to one core where
the OS allows), driven by N concurrent simulated Asterisk peers in this process.

Each session is what a short IVR does: the route answers, plays a prompt (STREAM FILE), collects
4 digits (GET DATA), sets 2 variables (SET VARIABLE) and ends. The peers speak the bytes recorded
from Asterisk 20 (tests/fixtures/asterisk/agi-dtmf-get-data): the `agi_*` environment, then
`200 result=0`, `200 result=0 endpos=...`, `200 result=1234`, `200 result=1`.

Two phases after a warm-up, each of `--sessions` sessions:
- saturated (closed loop, `--concurrency` peers each starting its next session at once): the
  maximum sessions/s, and sessions per CPU-second of the server process (what one core does when
  the server has it to itself; the wall-time figure drops when other processes share the core);
- paced (open loop, a new session every 1/`--rate` s, as calls arrive): the per-command latency
  as the route handler sees it (from writing a command to having its parsed reply; measured in
  the server process and sent back), p50/p99. Under saturation that latency only measures the
  queue (Little's law: peers in flight / commands per second), so it is reported at a set load.
Also the server process's peak RSS.

    python -m benchmarks.agi [--sessions 10000] [--concurrency 50] [--rate 300] [--server-cpu 0]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import resource
import sys
import time
from array import array
from collections.abc import Awaitable
from multiprocessing.connection import Connection
from typing import TypeVar

from contactcenter.telephony.agi import AgiSession, FastAgiServer

ENV = (
    b"agi_network: yes\nagi_network_script: inbound\nagi_request: agi://127.0.0.1:4573/inbound\n"
    b"agi_channel: Local/101@from-pstn-00000001;2\nagi_language: en\nagi_type: Local\n"
    b"agi_uniqueid: 1795913997.4\nagi_version: 20.20.1\nagi_callerid: 5550101\n"
    b"agi_calleridname: Ann Customer\nagi_callingpres: 0\nagi_callingani2: 0\n"
    b"agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n"
    b"agi_context: from-pstn\nagi_extension: 101\nagi_priority: 3\nagi_enhanced: 0.0\n"
    b"agi_accountcode: \nagi_threadid: 140664420251328\nagi_arg_1: 101\n\n"
)
REPLIES = {
    b"ANSWER": b"200 result=0\n",
    b"STREAM FILE": b"200 result=0 endpos=10240\n",
    b"GET DATA": b"200 result=1234\n",
    b"SET VARIABLE": b"200 result=1\n",
}
COMMANDS_PER_SESSION = 5
T = TypeVar("T")


def _pct(values: array[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _pin(cpus: set[int]) -> list[int] | None:
    """Pin this process to `cpus` where the OS allows it; the CPUs it runs on, else None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    usable = cpus & os.sched_getaffinity(0)
    if not usable:
        return None
    os.sched_setaffinity(0, usable)
    return sorted(usable)


# --- the server process ------------------------------------------------------------------------


def serve(conn: Connection, cpu: int) -> None:
    """The server process: report the port, serve until told to stop, report the figures."""
    pinned = _pin({cpu})
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(conn, pinned))


async def _timed(command: Awaitable[T], latencies: array[float]) -> T:
    start = time.perf_counter()
    value = await command
    latencies.append(time.perf_counter() - start)
    return value


async def _serve(conn: Connection, pinned: list[int] | None) -> None:
    latencies: array[float] = array("d")
    served = 0

    async def inbound(session: AgiSession) -> None:
        nonlocal served
        await _timed(session.answer(), latencies)
        await _timed(session.stream_file("welcome"), latencies)
        digits = await _timed(session.get_data("enter-account", 5000, 4), latencies)
        await _timed(session.set_variable("CC_ACTION", "queue"), latencies)
        await _timed(session.set_variable("CC_DIGITS", digits or ""), latencies)
        served += 1

    server = FastAgiServer({"inbound": inbound})
    await server.start("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    cpu_start = time.process_time()

    def on_message() -> None:
        nonlocal served, cpu_start
        message = conn.recv()
        if message == "report":  # the figures since the last report, then start afresh
            conn.send(
                {
                    "sessions_served": served,
                    "commands_timed": len(latencies),
                    "latency_p50_ms": _ms(_pct(latencies, 0.50)),
                    "latency_p99_ms": _ms(_pct(latencies, 0.99)),
                    "latency_max_ms": _ms(max(latencies, default=None)),
                    "server_cpu_s": round(time.process_time() - cpu_start, 3),
                }
            )
            del latencies[:]
            served = 0
            cpu_start = time.process_time()
        else:
            stop.set()

    loop.add_reader(conn.fileno(), on_message)
    conn.send(server.port)
    await stop.wait()
    loop.remove_reader(conn.fileno())
    await server.close()
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    conn.send({"server_peak_rss_mb": peak_rss_mb, "server_cpus": pinned})


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


# --- the simulated Asterisk peers --------------------------------------------------------------


async def peer_session(port: int) -> int:
    """One FastAGI session as Asterisk runs it; returns the number of commands answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answered = 0
    try:
        writer.write(ENV)
        while line := await reader.readline():
            verb = line[:12] if line.startswith(b"SET VARIABLE") else line.split(b" ", 2)[0]
            if verb == b"STREAM" or verb == b"GET":
                verb = b" ".join(line.split(b" ", 2)[:2])
            reply = REPLIES.get(verb.strip())
            if reply is None:
                raise RuntimeError(f"unexpected command {line!r}")
            writer.write(reply)
            answered += 1
    finally:
        writer.close()
    return answered


async def _counted(port: int, tally: list[int]) -> None:
    try:
        answered = await peer_session(port)
    except (OSError, RuntimeError):
        answered = -1
    tally[0 if answered == COMMANDS_PER_SESSION else 1] += 1


async def saturate(port: int, sessions: int, concurrency: int) -> tuple[float, int, int]:
    """Closed loop: `concurrency` peers, each starting its next session as soon as one ends.
    Gives the maximum sessions/s; (seconds, completed, failed)."""
    remaining = sessions
    tally = [0, 0]

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await _counted(port, tally)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, tally[0], tally[1]


async def paced(port: int, sessions: int, rate: float) -> tuple[float, int, int]:
    """Open loop: a new session every 1/rate s, as calls arrive at a PBX, whatever the server's
    speed. The latency under a given load; (seconds, completed, failed)."""
    loop = asyncio.get_running_loop()
    tally = [0, 0]
    tasks = []
    start = loop.time()
    for i in range(sessions):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_counted(port, tally)))
    await asyncio.gather(*tasks)
    return loop.time() - start, tally[0], tally[1]


def _phase(conn: Connection, elapsed: float, completed: int, failed: int) -> dict[str, object]:
    conn.send("report")
    server: dict[str, object] = conn.recv()
    cpu_s = server["server_cpu_s"]
    assert isinstance(cpu_s, float)
    return {
        # what one core would do if this server had it to itself (CPU time, not wall time)
        "sessions_per_cpu_s": round(completed / cpu_s, 1) if cpu_s else None,
        "completed": completed,
        "failed": failed,
        "seconds": round(elapsed, 3),
        "sessions_per_s": round(completed / elapsed, 1),
        **server,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10000, help="per phase")
    parser.add_argument("--concurrency", type=int, default=50, help="saturation phase peers")
    parser.add_argument("--rate", type=float, default=300.0, help="paced phase sessions/s")
    parser.add_argument("--warmup", type=int, default=500, help="sessions before measuring")
    parser.add_argument("--server-cpu", type=int, default=0)
    args = parser.parse_args(argv)

    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    process = ctx.Process(target=serve, args=(child_conn, args.server_cpu), daemon=True)
    process.start()
    port: int = conn.recv()
    others = set(range(os.cpu_count() or 1)) - {args.server_cpu}
    client_cpus = _pin(others) if others else None

    asyncio.run(saturate(port, args.warmup, args.concurrency))
    _phase(conn, 1.0, 0, 0)  # drop the warm-up's figures
    saturated = _phase(conn, *asyncio.run(saturate(port, args.sessions, args.concurrency)))
    at_rate = _phase(conn, *asyncio.run(paced(port, args.sessions, args.rate)))
    conn.send("stop")
    server: dict[str, object] = conn.recv()
    process.join(timeout=30)
    p99 = at_rate["latency_p99_ms"]
    result = {
        "benchmark": "agi",
        "commands_per_session": COMMANDS_PER_SESSION,
        # the maximum: closed loop, `concurrency` peers, the server's core saturated
        "max_sessions_per_s": saturated["sessions_per_s"],
        "sessions_per_cpu_s": saturated["sessions_per_cpu_s"],
        "saturated": {"concurrency": args.concurrency, **saturated},
        # the latency at the target load: open loop, a session every 1/rate s
        "rate": args.rate,
        "latency_p50_ms": at_rate["latency_p50_ms"],
        "latency_p99_ms": p99,
        "at_rate": at_rate,
        **server,
        "client_cpus": client_cpus,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
    }
    saturated_rate = saturated["sessions_per_s"]
    assert isinstance(saturated_rate, float) and (p99 is None or isinstance(p99, float))
    result["target_met"] = saturated_rate >= 300 and p99 is not None and p99 <= 5.0
    print(json.dumps(result))
    failed = [phase["failed"] for phase in (saturated, at_rate)]
    return 0 if failed == [0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())

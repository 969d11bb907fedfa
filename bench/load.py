"""Load run: `qa serve` on loopback, then concurrent clients hit GET /api/ask for a fixed time.

    python -m bench.load [--clients 1 50] [--seconds 20] [--think 0 1] [--abuser]

Each client asks, waits for the answer, waits `--think` seconds (0: at once, a
closed loop that saturates the server; 1: a person reading the answer) and asks
again. Clients start spread evenly over the first think time, as people do not
all press Enter in the same millisecond (client n of N waits think * n / N).
Prints requests per second, p50 / p99 latency and errors as a markdown table.
With `--abuser`, each run is repeated with one more client beside the others that
posts the chat form without pause, with a 2,000-character question and ten
2,000-character earlier questions; the table gives the ordinary clients' figures.
The server runs in a subprocess on 127.0.0.1 and a free port; it stops at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Where did the US and Russian envoys meet?",
    "Who is the Kremlin spokesman?",
    "How many civilians were taken from the village?",
    "Who represented Russia?",
    "How big is the EU loan?",
    "When did the talks in Miami take place?",
    "What did Peskov say about dialogue?",
    "What is the capital of Australia?",
]
STARTUP_SECONDS = 180  # building the index on a cold machine, then loading the model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir: Path, port: int) -> subprocess.Popen:
    """`qa serve` in a subprocess; returns once /healthz says the index is loaded and up to date."""
    command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(index_dir),
               "--seeds", str(PROJECT / "seeds"), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz")
            if health.status_code == 200 and not health.json().get("indexing"):
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not come up")


LONG = ("Where did the US and Russian envoys meet, and who spoke for the Kremlin afterwards? " * 30)[:2000]


async def abuse(http: httpx.AsyncClient, stop: float) -> None:
    """Post the chat form as fast as answers come, with the longest question and history allowed."""
    while time.perf_counter() < stop:
        try:
            await http.post("/", data={"q": LONG, "h": [LONG] * 10})
        except httpx.HTTPError:
            pass


async def load(base_url: str, clients: int, seconds: float, think: float,
               abuser: bool = False) -> tuple[list[float], Counter]:
    """`clients` concurrent loops over QUESTIONS for `seconds`, pausing `think` seconds
    after each answer (and, with `abuser`, the abusive client beside them); the ordinary
    clients' latencies (s) and errors by kind."""
    latencies: list[float] = []
    errors: Counter = Counter()
    stop = time.perf_counter() + seconds
    connections = clients + abuser  # the abusive client has its own connection, as it would
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def client(questions, start: float) -> None:
        await asyncio.sleep(start)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                response = await http.get("/api/ask", params={"q": next(questions)})
                error = "" if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as failure:
                error = type(failure).__name__
            if error:
                errors[error] += 1
            else:
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(think)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        await asyncio.gather(*(client(itertools.islice(itertools.cycle(QUESTIONS), n, None), think * n / clients)
                               for n in range(clients)), *([abuse(http, stop)] if abuser else []))
    return latencies, errors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def row(clients: int, think: float, seconds: float, latencies: list[float], errors: Counter, abuser: bool) -> str:
    kinds = ", ".join(f"{count} {kind}" for kind, count in errors.items())
    return (f"| {clients} | {think:g} s | {'yes' if abuser else 'no'} | {seconds:.0f} s | "
            f"{len(latencies) + errors.total()} "
            f"| {len(latencies) / seconds:.0f} | "
            f"{percentile(latencies, 0.5) * 1000:.1f} ms | {percentile(latencies, 0.99) * 1000:.1f} ms | "
            f"{errors.total()}{f' ({kinds})' if kinds else ''} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50], help="concurrent clients per run")
    parser.add_argument("--seconds", type=float, default=20, help="length of each run")
    parser.add_argument("--think", type=float, nargs="+", default=[0, 1],
                        help="seconds each client waits between answer and next question")
    parser.add_argument("--abuser", action="store_true", help="repeat each run with the abusive client beside")
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qa-load-") as index_dir:
        server = start_server(Path(index_dir), port)
        try:
            rows = []
            for think in args.think:
                for clients in args.clients:
                    for abuser in (False, True) if args.abuser else (False,):
                        latencies, errors = asyncio.run(
                            load(f"http://127.0.0.1:{port}", clients, args.seconds, think, abuser))
                        rows.append(row(clients, think, args.seconds, latencies, errors, abuser))
        finally:
            server.terminate()
            server.wait()
    print(f"GET /api/ask on 127.0.0.1, {len(QUESTIONS)} seed questions, {os.cpu_count()} CPUs\n")
    print("| clients | think time | abusive client beside | run | requests | req/s | p50 | p99 | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""fetch_json against bare ``session.get(url)`` + ``.json()``, and 100 concurrent fetches
against the ideal.

- ``fetch_rps``, ``fetch_ratio``: both drive the same local API (a child process) with one
  aiohttp session and bounded concurrency, taking turns; fetch_json records every request into
  a Timeline.
- ``fetch_efficiency_cold_100``, ``fetch_efficiency_warm_100``: 100 concurrent fetch_json from
  a server that answers after 0.1 s, as in notebook 02: the ideal (0.1 s, every request at
  once) over the measured wall time, on a new session (100 new connections) and on a session
  whose pool already holds 100 open connections, taking turns. Beside them, the same batch
  of bare aiohttp requests, to a bare aiohttp app (``_bare``) and to a server that does less
  than any HTTP server does (``_floor``: a canned answer, written by a timer 0.1 s after each
  request): what aiohttp's client itself reaches on this machine.

    python benchmarks/bench_fetch.py [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from typing import Any

import aiohttp
from _common import interleaved, interval, report
from bench_server import bare_server, canned_server

import asynckit

CONCURRENCY = 16


async def _drive(url: str, requests: int, instrumented: bool) -> None:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def bare() -> object:
            async with semaphore, session.get(url) as response:
                response.raise_for_status()
                return await response.json()

        async def recorded() -> object:
            async with semaphore:
                return await asynckit.fetch_json(session, url)

        one = recorded if instrumented else bare
        with asynckit.Timeline():
            await asyncio.gather(*(one() for _ in range(requests)))


LATENCY = 0.1
BATCH = 100


async def _batch(session: aiohttp.ClientSession, urls: list[str], bare: bool) -> float:
    """Wall seconds for every URL at once: fetch_json recorded in a Timeline, or bare aiohttp."""

    async def get(url: str) -> object:
        async with session.get(url) as response:
            return await response.json()

    with asynckit.Timeline():
        started = time.perf_counter()
        if bare:
            await asyncio.gather(*(get(url) for url in urls))
        else:
            await asyncio.gather(*(asynckit.fetch_json(session, url) for url in urls))
        return time.perf_counter() - started


def efficiency(quick: bool) -> dict[str, Any]:
    """100 concurrent fetch_json from the local API, cold and warm, beside the same batch of
    bare aiohttp requests to a bare aiohttp app and to a canned server, each in a child
    process: the best aiohttp's client reaches on this machine at the moment of the run."""
    repeats = 3 if quick else 21
    times: dict[str, list[float]] = {}

    async def run(base: str, name: str) -> None:
        urls = [f"{base}/posts/{i}" for i in range(1, BATCH + 1)]
        connector = aiohttp.TCPConnector(limit=BATCH)
        async with aiohttp.ClientSession(connector=connector) as session:
            # every request opens a connection, then every request finds one open
            cold = await _batch(session, urls, name != "asynckit")
            warm = await _batch(session, urls, name != "asynckit")
        times.setdefault(f"{name}_cold", []).append(cold)
        times.setdefault(f"{name}_warm", []).append(warm)

    with asynckit.start_server(latency=LATENCY) as api:
        body = asyncio.run(_body(f"{api.url}/posts/1"))
        with (
            bare_server({"/posts/{id}": body}, latency=LATENCY) as (bare, _),
            canned_server(body, LATENCY) as floor,
        ):
            bases = {"asynckit": api.url, "bare": bare, "floor": floor}
            for name, base in bases.items():  # warm up: imports, caches
                asyncio.run(run(base, name))
            times.clear()
            for _ in range(repeats):
                for name, base in bases.items():
                    gc.collect()
                    asyncio.run(run(base, name))
    figures: dict[str, Any] = {}
    intervals = figures["intervals"] = {}
    for key, name in (
        ("fetch_efficiency_cold_100", "asynckit_cold"),
        ("fetch_efficiency_warm_100", "asynckit_warm"),
        ("fetch_efficiency_cold_100_bare", "bare_cold"),
        ("fetch_efficiency_warm_100_bare", "bare_warm"),
        ("fetch_efficiency_cold_100_floor", "floor_cold"),
        ("fetch_efficiency_warm_100_floor", "floor_warm"),
    ):
        figures[key] = _efficiency(times[name])
        intervals[key] = interval(_efficiency, times[name])
    return figures


def _efficiency(seconds: list[float]) -> float:
    """The ideal (every request at once, each answered after LATENCY) over the median."""
    return LATENCY / statistics.median(seconds)


async def _body(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.read()


def measure(quick: bool = False) -> dict[str, Any]:
    requests, repeats = (500, 3) if quick else (3_000, 7)
    with asynckit.start_server() as api:
        url = f"{api.url}/posts/1"
        medians = interleaved(
            {
                "bare": lambda: asyncio.run(_drive(url, requests, False)),
                "fetch_json": lambda: asyncio.run(_drive(url, requests, True)),
            },
            repeats,
        )
    return {
        "fetch_rps": requests / medians["fetch_json"],
        "fetch_ratio": medians["bare"] / medians["fetch_json"],  # throughput ratio
        **efficiency(quick),
    }


if __name__ == "__main__":
    report(measure(quick="--quick" in sys.argv))

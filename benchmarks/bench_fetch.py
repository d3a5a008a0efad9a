"""fetch_json against bare ``session.get(url)`` + ``.json()``, and 100 concurrent fetches
against the ideal.

- ``fetch_rps``, ``fetch_ratio``: both drive the same local API (a child process) with one
  aiohttp session and bounded concurrency, taking turns; fetch_json records every request into
  a Timeline.
- ``fetch_efficiency_cold_100``, ``fetch_efficiency_warm_100``: 100 concurrent fetch_json from
  a server that answers after 0.1 s, as in notebook 02: the ideal (0.1 s, every request at
  once) over the measured wall time, on a new session (100 new connections) and on a session
  whose pool already holds 100 open connections, taking turns.

    python benchmarks/bench_fetch.py [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time

import aiohttp
from _common import interleaved

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


async def _batch(session: aiohttp.ClientSession, urls: list[str]) -> float:
    """Wall seconds for fetch_json of every URL at once."""
    with asynckit.Timeline():
        started = time.perf_counter()
        await asyncio.gather(*(asynckit.fetch_json(session, url) for url in urls))
        return time.perf_counter() - started


def efficiency(quick: bool) -> dict[str, float]:
    repeats = 3 if quick else 11
    cold: list[float] = []
    warm: list[float] = []

    async def run(urls: list[str]) -> None:
        connector = aiohttp.TCPConnector(limit=BATCH)
        async with aiohttp.ClientSession(connector=connector) as session:
            cold.append(await _batch(session, urls))  # every request opens a connection
            warm.append(await _batch(session, urls))  # every request finds one open

    with asynckit.start_server(latency=LATENCY) as api:
        urls = [f"{api.url}/posts/{i}" for i in range(1, BATCH + 1)]
        asyncio.run(run(urls))  # warm up: imports, caches
        cold.clear()
        warm.clear()
        for _ in range(repeats):
            gc.collect()
            asyncio.run(run(urls))
    return {
        "fetch_efficiency_cold_100": LATENCY / statistics.median(cold),
        "fetch_efficiency_warm_100": LATENCY / statistics.median(warm),
    }


def measure(quick: bool = False) -> dict[str, float]:
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
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")

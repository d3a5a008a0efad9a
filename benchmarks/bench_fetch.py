"""fetch_json against bare ``session.get(url)`` + ``.json()``: requests per second, side by side.

Both drive the same local API (in its own thread) with one aiohttp session and bounded
concurrency, taking turns; fetch_json records every request into a Timeline.

    python benchmarks/bench_fetch.py [--quick]
"""

from __future__ import annotations

import asyncio
import sys

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
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")

"""How fast is the local API next to the least an aiohttp server can do?

Both servers answer ``GET /posts/1`` and ``GET /posts?userId=1`` with the same bytes: the local
API with its routing, middleware (statistics, latency and fault checks, all switched off) and
pre-serialised JSON; the baseline with one aiohttp handler per path returning those bytes. One
aiohttp client drives each in turn with bounded concurrency and a bounded number of requests,
alternating A B A B ..., and the medians are compared. Everything runs in one event loop, as a
notebook would run it.

    python benchmarks/bench_server.py          # full run, about half a minute
    python benchmarks/bench_server.py --quick  # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from asynckit.server import serve

PATHS = ("/posts/1", "/posts?userId=1")
CONCURRENCY = 32


@asynccontextmanager
async def _baseline(bodies: dict[str, bytes]) -> AsyncIterator[str]:
    """The least aiohttp can do: one handler per path returning fixed bytes."""

    def handler_for(body: bytes) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/json")

        return handler

    app = web.Application()
    app.router.add_get("/posts/1", handler_for(bodies["/posts/1"]))
    app.router.add_get("/posts", handler_for(bodies["/posts?userId=1"]))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}"
    finally:
        await runner.cleanup()


async def _drive(session: aiohttp.ClientSession, base: str, requests: int) -> float:
    """Send ``requests`` GETs (cycling through PATHS) from CONCURRENCY workers; return rps."""
    urls = [base + path for path in PATHS]
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(urls[remaining % len(urls)]) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{response.url} answered {response.status}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return requests / (time.perf_counter() - start)


async def _measure(quick: bool) -> dict[str, float]:
    requests, rounds = (800, 5) if quick else (3000, 15)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with serve() as api, aiohttp.ClientSession(connector=connector) as session:
        bodies = {}
        for path in PATHS:
            async with session.get(api.url + path) as response:
                bodies[path] = await response.read()
        async with _baseline(bodies) as baseline:
            await _drive(session, api.url, requests // 5)  # warm up both
            await _drive(session, baseline, requests // 5)
            ours, theirs = [], []
            for _ in range(rounds):
                ours.append(await _drive(session, api.url, requests))
                theirs.append(await _drive(session, baseline, requests))
    server_rps = statistics.median(ours)
    return {
        "server_rps": server_rps,
        "server_ratio": server_rps / statistics.median(theirs),
    }


def measure(quick: bool = False) -> dict[str, float]:
    """Requests per second of the local API, and that as a fraction of a bare aiohttp handler.

    Returns ``{"server_rps": ..., "server_ratio": ...}``; a ratio near 1 means the API's own
    work (routing, statistics, filters) costs little next to HTTP itself.
    """
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run of a few seconds")
    figures = measure(quick=parser.parse_args().quick)
    print(f"local API: {figures['server_rps']:,.0f} requests/s")
    print(f"ratio to a bare aiohttp handler: {figures['server_ratio']:.2f}")

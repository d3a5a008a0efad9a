"""How fast is the local API next to the least an aiohttp server can do?

Both servers answer ``GET /posts/1`` and ``GET /posts?userId=1`` with the same bytes: the local
API with its routing, middleware (statistics, latency and fault checks, all switched off) and
pre-serialised JSON; the baseline with one aiohttp handler per path returning those bytes. One
aiohttp client drives each in turn with bounded concurrency and a bounded number of requests,
taking turns (A B A B ...), and the medians are compared. Servers and client share one event
loop, as in a notebook.

    python benchmarks/bench_server.py          # full run, about 20 s
    python benchmarks/bench_server.py --quick  # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from _common import interleaved
from aiohttp import web
from aiohttp.typedefs import Handler

from asynckit import serve

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


async def _drive(session: aiohttp.ClientSession, base: str, requests: int) -> None:
    """Send ``requests`` GETs (cycling through PATHS) from CONCURRENCY workers."""
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

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def _open(stack: AsyncExitStack) -> tuple[aiohttp.ClientSession, str, str]:
    """The client, the local API's URL and the baseline's, serving the same bytes."""
    api = await stack.enter_async_context(serve())
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
    bodies = {}
    for path in PATHS:
        async with session.get(api.url + path) as response:
            bodies[path] = await response.read()
    baseline = await stack.enter_async_context(_baseline(bodies))
    return session, api.url, baseline


def measure(quick: bool = False) -> dict[str, float]:
    """Requests per second of the local API, and that as a fraction of a bare aiohttp handler.

    Returns ``{"server_rps": ..., "server_ratio": ...}``; a ratio near 1 means the API's own
    work (routing, statistics, filters) costs little next to HTTP itself.
    """
    requests, repeats = (800, 5) if quick else (3000, 15)
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        session, api, baseline = loop.run_until_complete(_open(stack))

        def run(url: str) -> None:
            loop.run_until_complete(_drive(session, url, requests))

        run(api)  # warm up both
        run(baseline)
        seconds = interleaved({"api": lambda: run(api), "baseline": lambda: run(baseline)}, repeats)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()
    return {
        "server_rps": requests / seconds["api"],
        "server_ratio": seconds["baseline"] / seconds["api"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run of a few seconds")
    figures = measure(quick=parser.parse_args().quick)
    print(f"local API: {figures['server_rps']:,.0f} requests/s")
    print(f"ratio to a bare aiohttp handler: {figures['server_ratio']:.2f}")

"""The local API in its own process: throughput beside a bare aiohttp app, start time, and
what hostile input costs it.

- ``server_rps``, ``server_ratio``: the local API (``start_server()``, a child process) answers
  ``GET /posts/1`` and ``GET /posts?userId=1``; so does the least an aiohttp server can do (one
  handler per path returning the same bytes), also in a child process. One aiohttp client in
  this process drives each in turn with bounded concurrency, taking turns (A B A B ...).
  ``server_rps`` is the local API's requests per wall second; ``server_ratio`` compares the
  servers' own CPU time per run (from /proc), the baseline's over the local API's: the
  throughput ratio of two servers each given a core, which wall times on a shared machine
  blur.
- ``server_start_s``: how long ``start_server()`` takes to return a listening server.
- ``slow_input_cpu_ms``: the server's own CPU time (from /proc, not the wall clock) per request,
  for the worst of a set of hostile requests: 8 kB and 64 kB numbers, paths, queries, headers.
- ``cache_rss_mb_10k``: the server process's resident memory after 10,000 queries that each
  ask for a different slice of the comments.

    python benchmarks/bench_server.py          # full run, about 40 s
    python benchmarks/bench_server.py --quick  # a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from _common import interleaved

from asynckit import start_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_server import cpu_seconds, hostile_requests, raw_request, rss_mb

PATHS = ("/posts/1", "/posts?userId=1")
CONCURRENCY = 32

# The least aiohttp can do: one handler per path returning fixed bytes (after ``latency``
# seconds, if any), in a process of its own.
_BASELINE = """
import asyncio, json, socket, sys
from aiohttp import web

given = json.loads(sys.stdin.readline())
latency = given.pop("latency")

def handler_for(body):
    async def handler(request):
        if latency:
            await asyncio.sleep(latency)
        return web.Response(body=body, content_type="application/json")
    return handler

async def main():
    app = web.Application()
    for path, body in given.items():
        app.router.add_get(path, handler_for(body.encode("latin-1")))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock, backlog=1024).start()
    print(sock.getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()

asyncio.run(main())
"""


@contextlib.contextmanager
def bare_server(bodies: dict[str, bytes], latency: float = 0.0) -> Iterator[tuple[str, int]]:
    """The least aiohttp can do, in a child process: each path answers its bytes after
    ``latency`` seconds. Yields its base URL and process id; stops it at the end."""
    process = subprocess.Popen(
        [sys.executable, "-c", _BASELINE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        given = {path: body.decode("latin-1") for path, body in bodies.items()}
        process.stdin.write(json.dumps({**given, "latency": latency}).encode() + b"\n")
        process.stdin.flush()
        yield f"http://127.0.0.1:{int(process.stdout.readline())}", process.pid
    finally:
        process.communicate()  # closing its standard input stops it


# Less than any HTTP server does: each request, whatever it asks, gets the same bytes after
# ``latency`` seconds, written by a timer of the event loop; no routing, no parsing beyond the
# blank line that ends a request's headers (the client sends GETs with no body).
_CANNED = """
import asyncio, json, sys

given = json.loads(sys.stdin.readline())
body, latency = given["body"].encode("latin-1"), given["latency"]
answer = (
    b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
    b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body
)

class Canned(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.received = transport, b""

    def data_received(self, data):
        self.received += data
        while b"\\r\\n\\r\\n" in self.received:
            _, self.received = self.received.split(b"\\r\\n\\r\\n", 1)
            asyncio.get_running_loop().call_later(latency, self.answer)

    def answer(self):
        if not self.transport.is_closing():
            self.transport.write(answer)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Canned, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()

asyncio.run(main())
"""


@contextlib.contextmanager
def canned_server(body: bytes, latency: float) -> Iterator[str]:
    """A server that does less than any HTTP server does, in a child process: every request
    gets ``body`` after ``latency`` seconds. What a client achieves against it is the most it
    can achieve on this machine. Yields its base URL; stops it at the end."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CANNED], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        given = {"body": body.decode("latin-1"), "latency": latency}
        process.stdin.write(json.dumps(given).encode() + b"\n")
        process.stdin.flush()
        yield f"http://127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.communicate()  # closing its standard input stops it


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


def throughput(quick: bool) -> dict[str, float]:
    requests, repeats = (800, 5) if quick else (3000, 15)
    with start_server() as api:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        bodies = {}
        for path in PATHS:
            with opener.open(api.url + path) as response:
                bodies[path] = response.read()
        # The baseline routes by path alone: /posts answers what /posts?userId=1 does.
        baseline = {"/posts/1": bodies["/posts/1"], "/posts": bodies[PATHS[1]]}
        with bare_server(baseline) as (bare, bare_pid):
            assert api.pid is not None
            servers = {"api": (api.url, api.pid), "baseline": (bare, bare_pid)}
            cpu: dict[str, list[float]] = {name: [] for name in servers}
            loop = asyncio.new_event_loop()
            session = loop.run_until_complete(_session())

            def run(name: str) -> None:
                url, pid = servers[name]
                before = cpu_seconds(pid)
                loop.run_until_complete(_drive(session, url, requests))
                cpu[name].append(cpu_seconds(pid) - before)

            try:
                run("api")  # warm up both
                run("baseline")
                for values in cpu.values():
                    values.clear()
                seconds = interleaved(
                    {name: functools.partial(run, name) for name in servers}, repeats
                )
            finally:
                loop.run_until_complete(session.close())
                loop.close()
    return {
        "server_rps": requests / seconds["api"],
        "server_ratio": statistics.median(cpu["baseline"]) / statistics.median(cpu["api"]),
    }


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))


def start_seconds(quick: bool) -> float:
    times = []
    for _ in range(3 if quick else 7):
        started = time.perf_counter()
        api = start_server()
        times.append(time.perf_counter() - started)
        api.stop()
    return statistics.median(times)


def hostile_cpu_ms(quick: bool) -> float:
    """The server's CPU milliseconds per request for the worst hostile request."""
    repeats = 10 if quick else 50
    worst = 0.0
    with start_server() as api:
        assert api.pid is not None
        loop = asyncio.new_event_loop()
        try:
            for request in hostile_requests(api.port).values():
                before = cpu_seconds(api.pid)
                for _ in range(repeats):
                    loop.run_until_complete(raw_request(api.port, request))
                worst = max(worst, (cpu_seconds(api.pid) - before) / repeats * 1000)
        finally:
            loop.close()
    return worst


def cache_rss_mb(quick: bool) -> float:
    """The server's RSS after 10,000 distinct slices of the comments (HEAD: built, not sent)."""
    queries = [f"_start={i % 100}&_end={500 - i // 100}" for i in range(10_000)]

    async def send(url: str) -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session:
            semaphore = asyncio.Semaphore(20)

            async def head(query: str) -> None:
                async with semaphore, session.head(f"{url}/comments?{query}") as response:
                    response.raise_for_status()

            await asyncio.gather(*(head(query) for query in queries))

    with start_server() as api:
        assert api.pid is not None
        asyncio.run(send(api.url))
        return rss_mb(api.pid)


def measure(quick: bool = False) -> dict[str, float]:
    """Throughput against a bare aiohttp app, start time, CPU per hostile request, and memory
    after 10,000 distinct queries (see the module's docstring)."""
    figures = throughput(quick)
    figures["server_start_s"] = start_seconds(quick)
    figures["slow_input_cpu_ms"] = hostile_cpu_ms(quick)
    figures["cache_rss_mb_10k"] = cache_rss_mb(quick)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run of a few seconds")
    for key, value in measure(quick=parser.parse_args().quick).items():
        print(f"{key:24} {value:10.3f}")

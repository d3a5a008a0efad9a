"""The local API over real sockets: routes, filters, pages, faults, stats, starting, stopping.

Every test talks HTTP to a real server with a real client. Most share one threaded server; the
ones that change settings start their own. No test may leave an ERROR record in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, ParamSpec

import aiohttp
import pytest
import trio
from yarl import URL

from asynckit import LocalAPI, ServerError, _data, serve, start_server

P = ParamSpec("P")


def run_async(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an ``async def`` test in a fresh asyncio loop (pytest-asyncio is not used here)."""

    @functools.wraps(test)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture(scope="module")
def api() -> Iterator[LocalAPI]:
    """One server with no latency or faults, shared by the tests that only read."""
    with start_server() as running:
        yield running


@contextlib.asynccontextmanager
async def session(limit: int = 100) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=limit)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


async def get(client: aiohttp.ClientSession, url: str | URL, method: str = "GET") -> Any:
    """Status, headers and parsed JSON body of one request."""
    async with client.request(method, url) as response:
        body = await response.read()
        data = json.loads(body) if body else None
        return response.status, response.headers, data


def urlopen(url: str) -> tuple[int, Any]:
    """A blocking GET with the standard library, as a thread or another process would do it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=20) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


async def raw_request(port: int, request: bytes) -> bytes:
    """Send ``request`` as it is on a new connection; return all that comes back (until the
    server closes the connection: a well-formed request says ``Connection: close``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read()
    except ConnectionResetError:  # it answered an oversized request before reading all of it
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def refused(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def children() -> set[int]:
    """The live child processes of this one."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] not in ("Z", "X"):
                found.add(int(entry.name))
    return found


def wait_until_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Every server a test starts has ended, process and all, when the test ends."""
    before = children()
    yield
    left = {pid for pid in children() - before if not wait_until_gone(pid, 5)}
    assert not left, f"child processes left running: {left}"


# -- routes and data ----------------------------------------------------------------------------

NESTED = [
    ("/posts/3/comments", "comments", "postId", 3),
    ("/users/2/posts", "posts", "userId", 2),
    ("/users/2/todos", "todos", "userId", 2),
    ("/users/2/albums", "albums", "userId", 2),
]


@run_async
async def test_every_route_answers_the_bundled_data(api: LocalAPI) -> None:
    async with session() as client:
        for resource in _data.RESOURCES:
            items = _data.load(resource)
            status, headers, data = await get(client, f"{api.url}/{resource}")
            assert (status, data) == (200, items)
            assert headers["X-Total-Count"] == str(len(items))
            assert headers["Content-Type"] == "application/json; charset=utf-8"
            status, _, data = await get(client, f"{api.url}/{resource}/{len(items)}")
            assert (status, data) == (200, items[-1])
        for path, resource, field, parent in NESTED:
            expected = [item for item in _data.load(resource) if item[field] == parent]
            status, headers, data = await get(client, api.url + path)
            assert (status, data) == (200, expected)
            assert headers["X-Total-Count"] == str(len(expected))


@run_async
async def test_index_lists_resources_and_routes(api: LocalAPI) -> None:
    async with session() as client:
        status, _, data = await get(client, api.url + "/")
    assert status == 200
    assert data["resources"] == {"posts": 100, "comments": 500, "albums": 100, "todos": 200,
                                 "users": 10}  # fmt: skip
    assert "/users/{id}/todos" in data["routes"] and "/delay/{seconds}" in data["routes"]


@run_async
async def test_no_origin_may_read_across_origins_by_default(api: LocalAPI) -> None:
    async with session() as client:
        page = {"Origin": "http://example.com"}
        async with client.get(f"{api.url}/posts?_limit=1", headers=page) as response:
            assert response.status == 200
            assert "Access-Control-Allow-Origin" not in response.headers
        preflight = {**page, "Access-Control-Request-Method": "GET"}
        async with client.options(f"{api.url}/posts", headers=preflight) as response:
            assert response.status == 405
            assert "Access-Control-Allow-Origin" not in response.headers


@run_async
async def test_cors_lets_the_named_origin_read_and_expose_the_total() -> None:
    allowed, other = "http://localhost:8888", "http://evil.example"
    with start_server(cors=allowed) as local:
        async with session() as client:
            for origin, expected in ((allowed, allowed), (other, None)):
                headers = {"Origin": origin}
                async with client.get(f"{local.url}/posts?_limit=1", headers=headers) as response:
                    assert response.headers.get("Access-Control-Allow-Origin") == expected
                    assert response.headers["Vary"] == "Origin"
                    if expected:
                        assert "X-Total-Count" in response.headers["Access-Control-Expose-Headers"]
                preflight = {**headers, "Access-Control-Request-Method": "GET"}
                async with client.options(f"{local.url}/posts", headers=preflight) as response:
                    assert response.status == (204 if expected else 405)
                    assert response.headers.get("Access-Control-Allow-Origin") == expected


@pytest.mark.parametrize(
    ("cors", "error"),
    [("*", ValueError), ("localhost:8888", ValueError), ("http://a.b/path", ValueError),
     ([5], TypeError)],
)  # fmt: skip
def test_cors_takes_origins_only(cors: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="cors"):
        start_server(cors=cors)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.2", "localhost.evil.example", "x" * 8000]
)
@run_async
async def test_a_host_other_than_this_machine_gets_403(api: LocalAPI, host: str) -> None:
    # What a page elsewhere sends after making its own name point to 127.0.0.1 (DNS rebinding).
    before = api.stats()["requests"]
    answer = await raw_request(
        api.port, f"GET /posts/1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert "127.0.0.1 and localhost" in json.loads(body)["error"]
    assert api.stats()["requests"] == before  # not counted: not the learner's


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "localhost:{port}"])
@run_async
async def test_loopback_hosts_are_served(api: LocalAPI, host: str) -> None:
    host = host.format(port=api.port)
    answer = await raw_request(
        api.port, f"GET /posts/1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 ")


@run_async
async def test_head_answers_headers_only(api: LocalAPI) -> None:
    async with session() as client:
        for path in ("/posts/1", "/posts", "/stream/posts"):
            status, _, body = await get(client, api.url + path, method="HEAD")
            assert (status, body) == (200, None)


# -- filters and pagination ---------------------------------------------------------------------


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        ("/comments?postId=1", [1, 2, 3, 4, 5], 5),
        ("/comments?postId=1&postId=3", [1, 2, 3, 4, 5, 11, 12, 13, 14, 15], 10),
        ("/posts?userId=2&id=15", [15], 1),
        ("/posts?userId=2&id=35", [], 0),
        ("/posts?userId=banana", [], 0),
        ("/posts?_page=2&_limit=5", [6, 7, 8, 9, 10], 100),
        ("/posts?_page=3", list(range(21, 31)), 100),
        ("/posts?_page=11", [], 100),
        ("/posts?_start=10&_end=13", [11, 12, 13], 100),
        ("/posts?_start=98&_limit=5", [99, 100], 100),
        ("/posts?_limit=3", [1, 2, 3], 100),
        ("/posts?_end=2", [1, 2], 100),
        ("/comments?postId=2&_limit=2", [6, 7], 5),
        ("/users/1/todos?_page=2&_limit=15", [16, 17, 18, 19, 20], 20),
        ("/posts/1/comments?postId=2", [], 0),
        ("/posts?userId=1&delay=0", list(range(1, 11)), 10),
    ],
)
@run_async
async def test_filters_and_pagination(
    api: LocalAPI, query: str, expected: list[int], total: int
) -> None:
    async with session() as client:
        status, headers, data = await get(client, api.url + query)
    assert status == 200
    assert ids(data) == expected
    assert headers["X-Total-Count"] == str(total)


@run_async
async def test_filters_compare_text_and_booleans_as_jsonplaceholder(api: LocalAPI) -> None:
    todos = _data.load("todos")
    post = _data.load("posts")[41]
    async with session() as client:
        _, _, done = await get(client, f"{api.url}/todos?completed=true")
        _, _, open_ = await get(client, f"{api.url}/todos?completed=false&userId=3")
        _, _, titled = await get(client, api.url + "/posts?" + urllib.parse.urlencode(post))
        username = _data.load("users")[4]["username"]
        _, _, named = await get(client, f"{api.url}/users?username={username}")
    assert done == [todo for todo in todos if todo["completed"]]
    assert open_ == [todo for todo in todos if not todo["completed"] and todo["userId"] == 3]
    assert titled == [post]
    assert ids(named) == [5]


@run_async
async def test_page_link_header(api: LocalAPI) -> None:
    async with session() as client:
        _, headers, _ = await get(client, f"{api.url}/comments?postId=1&_page=2&_limit=2")
    links = dict(
        (rel, URL(url).query["_page"])
        for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers["Link"])
    )
    assert links == {"first": "1", "prev": "1", "next": "3", "last": "3"}


# -- stream and delay ---------------------------------------------------------------------------


@run_async
async def test_stream_sends_items_one_line_at_a_time(api: LocalAPI) -> None:
    arrivals = []
    async with session() as client:
        start = time.perf_counter()
        async with client.get(f"{api.url}/stream/todos?n=5&interval=0.2") as response:
            assert response.headers["Content-Type"].startswith("application/x-ndjson")
            lines = []
            async for line in response.content:
                arrivals.append(time.perf_counter() - start)
                lines.append(json.loads(line))
    assert lines == _data.load("todos")[:5]
    total = arrivals[-1]
    assert total >= 0.7  # four pauses of 0.2 s
    assert arrivals[0] < total / 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert sum(gap > 0.1 for gap in gaps) >= 3  # spread out, not in one burst


@run_async
async def test_stream_defaults_and_caps_n_at_the_resource_size(api: LocalAPI) -> None:
    async with session() as client:
        async with client.get(f"{api.url}/stream/users?n=50&interval=0") as response:
            assert len((await response.read()).splitlines()) == 10
        start = time.perf_counter()
        async with client.get(f"{api.url}/stream/posts") as response:
            lines = (await response.read()).splitlines()
        assert len(lines) == 10
        assert time.perf_counter() - start >= 0.8  # nine pauses of 0.1 s by default


@run_async
async def test_delay_route_waits_that_long(api: LocalAPI) -> None:
    async with session() as client:
        start = time.perf_counter()
        status, _, data = await get(client, f"{api.url}/delay/0.3")
        assert time.perf_counter() - start >= 0.29
    assert (status, data) == (200, {"delay": 0.3})


# -- latency and faults -------------------------------------------------------------------------


async def timed(client: aiohttp.ClientSession, url: str) -> tuple[int, float]:
    start = time.perf_counter()
    async with client.get(url) as response:
        await response.read()
    return response.status, time.perf_counter() - start


@run_async
async def test_latency_and_per_request_delay() -> None:
    async with serve(latency=0.3) as api, session() as client:
        status, elapsed = await timed(client, f"{api.url}/posts/1")
        assert status == 200 and elapsed >= 0.29
        status, elapsed = await timed(client, f"{api.url}/posts/1?delay=0")
        assert status == 200 and elapsed < 0.25
        status, elapsed = await timed(client, f"{api.url}/nothing")
        assert status == 404 and elapsed >= 0.29  # latency comes before every answer
        api.configure(latency=0)
        status, elapsed = await timed(client, f"{api.url}/posts/1?delay=0.3")
        assert status == 200 and elapsed >= 0.29


@run_async
async def test_jitter_stays_within_its_bound() -> None:
    async with serve(jitter=0.2, seed=3) as api, session() as client:
        times = [(await timed(client, f"{api.url}/posts/1"))[1] for _ in range(8)]
    assert max(times) < 1.0
    assert max(times) - min(times) > 0.02  # the waits differ


async def statuses(client: aiohttp.ClientSession, url: str, count: int) -> list[int]:
    return [(await timed(client, url))[0] for _ in range(count)]


@run_async
async def test_error_rate_with_a_seed_is_reproducible() -> None:
    async with serve(error_rate=0.5, seed=42) as api, session() as client:
        url = f"{api.url}/posts/1"
        first = await statuses(client, url, 40)
        api.configure(seed=42)
        again = await statuses(client, url, 40)
        async with serve(error_rate=0.5, seed=42) as twin:
            twin_statuses = await statuses(client, f"{twin.url}/posts/1", 40)
    assert set(first) == {200, 503}
    assert first == again == twin_statuses
    assert 5 < first.count(503) < 35


@run_async
async def test_error_rate_answers_json_503() -> None:
    async with serve(error_rate=1.0) as api, session() as client:
        status, headers, data = await get(client, f"{api.url}/users/1")
    assert status == 503
    assert "fails 100% of requests" in data["error"]
    assert headers["Content-Type"].startswith("application/json")
    async with serve(error_rate=0.004, seed=1) as api, session() as client:
        for _ in range(2_000):  # about 8 of them fail
            status, headers, data = await get(client, f"{api.url}/users/1")
            if status == 503:
                break
    assert "fails 0.4% of requests" in data["error"]  # not rounded to "0%"


@pytest.mark.parametrize("code", [400, 404, 418, 500, 503, 599])
@run_async
async def test_fail_answers_that_status(api: LocalAPI, code: int) -> None:
    async with session() as client:
        status, _, data = await get(client, f"{api.url}/posts/1?fail={code}")
    assert status == code
    assert str(code) in data["error"]


@run_async
async def test_rate_limit_answers_429_with_retry_after() -> None:
    async with serve(rate_limit=5) as api, session() as client:
        results = []
        for _ in range(30):
            async with client.get(f"{api.url}/posts/1") as response:
                results.append((response.status, response.headers.get("Retry-After")))
                if response.status == 429:
                    error = (await response.json())["error"]
        codes = [status for status, _ in results]
        assert codes[:5] == [200] * 5  # the burst
        assert codes.count(429) >= 15
        assert all(int(after or "0") >= 1 for status, after in results if status == 429)
        assert "5 per second" in error
        api.configure(rate_limit=None)
        assert await statuses(client, f"{api.url}/posts/1", 20) == [200] * 20
        assert api.stats()["by_status"][429] == codes.count(429)


# -- bad input ----------------------------------------------------------------------------------

BAD = [
    ("/posts/abc", 400, "whole number"),
    ("/posts/1.5", 400, "whole number"),
    ("/users/%20", 400, "whole number"),
    ("/users/%201", 400, "whole number"),
    ("/users/%D9%A1", 400, "whole number"),
    ("/posts/0", 404, "1 to 100"),
    ("/posts/101", 404, "1 to 100"),
    ("/posts/-1", 404, "1 to 100"),
    ("/posts/99999999999999999999999999", 404, "1 to 100"),
    ("/users/11/posts", 404, "1 to 10"),
    ("/users/x/todos", 400, "whole number"),
    ("/nothing", 404, "GET /"),
    ("/posts/1/nothing", 404, "GET /"),
    ("/posts?userid=1", 400, "userId"),
    ("/posts/1?userId=1", 400, "delay, fail"),
    ("/posts?_page=0", 400, "_page"),
    ("/posts?_page=abc", 400, "_page"),
    ("/posts?_limit=-1", 400, "_limit"),
    ("/posts?_limit=2&_limit=3", 400, "_limit"),
    ("/posts?_start=1.5", 400, "_start"),
    ("/delay/-1", 400, "0 to 30"),
    ("/delay/nan", 400, "0 to 30"),
    ("/delay/inf", 400, "0 to 30"),
    ("/delay/abc", 400, "0 to 30"),
    ("/delay/31", 400, "0 to 30"),
    ("/delay/1_0", 400, "0 to 30"),
    ("/delay/%201", 400, "0 to 30"),
    ("/delay/1?n=2", 400, "delay, fail"),
    ("/stream/photos", 404, "posts, comments"),
    ("/stream/posts?n=-1", 400, "n must"),
    ("/stream/posts?n=ten", 400, "n must"),
    ("/stream/posts?interval=-0.1", 400, "interval"),
    ("/stream/posts?interval=NaN", 400, "interval"),
    ("/stream/posts?interval=99", 400, "interval"),
    ("/stream/posts?userId=1", 400, "interval, n"),
    ("/posts/1?delay=-1", 400, "delay"),
    ("/posts/1?delay=nan", 400, "delay"),
    ("/posts/1?delay=31", 400, "delay"),
    ("/posts/1?delay=soon", 400, "delay"),
    ("/posts/1?fail=200", 400, "400 to 599"),
    ("/posts/1?fail=600", 400, "400 to 599"),
    ("/posts/1?fail=oops", 400, "400 to 599"),
]


@pytest.mark.parametrize(("path", "code", "hint"), BAD)
@run_async
async def test_bad_input_gets_a_4xx_with_a_json_error(
    api: LocalAPI, path: str, code: int, hint: str
) -> None:
    async with session() as client:
        status, headers, data = await get(client, URL(api.url + path, encoded=True))
    assert status == code
    assert headers["Content-Type"].startswith("application/json")
    assert list(data) == ["error"] and hint in data["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@run_async
async def test_other_methods_get_405(api: LocalAPI, method: str) -> None:
    async with session() as client:
        status, headers, data = await get(client, f"{api.url}/posts/1", method=method)
    assert status == 405
    assert "GET" in headers["Allow"] and "use GET" in data["error"]


@run_async
async def test_oversized_and_malformed_requests_get_a_4xx_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serve() as api:
        long_query = b"GET /posts?title=" + b"x" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        huge_header = b"GET /posts HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 10_000 + b"\r\n\r\n"
        bad_length = b"GET /posts HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
        not_http = b"\x16\x03\x01garbage\r\n\r\n"
        for request in (long_query, huge_header, bad_length, not_http):
            answer = await raw_request(api.port, request)
            assert re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:80]
        async with session() as client:
            status, _, _ = await get(client, f"{api.url}/posts/1")
    assert status == 200  # still serving
    assert not [r for r in caplog.records if r.exc_info]


@run_async
async def test_seeded_fuzz_of_paths_and_queries_never_gets_a_5xx(api: LocalAPI) -> None:
    rng = random.Random(1234)
    seconds = ["0", "0.001", "-1", "nan", "inf", "-inf", "31", "1e309", "", "abc", "0x10", "1_0"]
    junk = ["", "abc", "%00", "%ff", "%2F", "..", ".", "%20", "+", "1.0", "-0", "01", "%D9%A1",
            "9" * 40, "x" * 300, "posts", "true", "null", "%7B%7D", "%25"]  # fmt: skip
    numbers = ["1", "2", "10", "0", "-3", "100", "501", "true", "false", *junk]
    names = [*_data.RESOURCES, "photos", "", "POSTS"]
    keys = ["userId", "postId", "id", "title", "completed", "name", "address", "_page", "_limit",
            "_start", "_end", "n", "interval", "delay", "fail", "q", "", "%00", "a[]"]  # fmt: skip

    def part(options: list[str]) -> str:
        return rng.choice(options)

    def path() -> str:
        shape = rng.randrange(6)
        if shape == 0:
            return "/" + "/".join(part(names + junk + numbers) for _ in range(rng.randrange(5)))
        if shape == 1:
            return f"/delay/{part(seconds)}"
        if shape == 2:
            return f"/stream/{part(names)}"
        if shape == 3:
            return f"/{part(names)}/{part(numbers)}/{part(names)}"
        return f"/{part(names)}/{part(numbers)}" if shape == 4 else f"/{part(names)}"

    def query() -> str:
        pairs = []
        for _ in range(rng.randrange(4)):
            key = part(keys)
            value = part(seconds) if key in ("delay", "interval") else part(numbers)
            if key == "fail":
                value = part(["404", "499", "200", "999", "x", "-1"])  # no 5xx asked for
            pairs.append(f"{key}={value}" if rng.random() < 0.9 else key)
        return "&".join(pairs)

    def url() -> URL:
        where, what = path(), query()
        if where.startswith("/stream/"):  # keep streams short: 0.1 s between items by default
            what = f"interval={part(seconds)}&{what}"
        return URL(f"{api.url}{where}?{what}", encoded=True)

    urls = [url() for _ in range(3000)]
    methods = [rng.choice(["GET"] * 8 + ["HEAD", "POST"]) for _ in urls]
    async with session(limit=50) as client:
        semaphore = asyncio.Semaphore(50)

        async def check(method: str, url: URL) -> None:
            async with semaphore, client.request(method, url) as response:
                body = await response.read()
            assert response.status < 500, (method, url, response.status, body[:200])
            if response.status >= 400 and method != "HEAD":
                assert "error" in json.loads(body), (url, body[:200])

        await asyncio.gather(*(check(m, u) for m, u in zip(methods, urls, strict=True)))


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "error", "name"),
    [
        ({"latency": -1}, ValueError, "latency"),
        ({"latency": math.nan}, ValueError, "latency"),
        ({"latency": math.inf}, ValueError, "latency"),
        ({"latency": "0.1"}, TypeError, "latency"),
        ({"jitter": -0.5}, ValueError, "jitter"),
        ({"error_rate": 1.5}, ValueError, "error_rate"),
        ({"error_rate": -0.1}, ValueError, "error_rate"),
        ({"error_rate": math.nan}, ValueError, "error_rate"),
        ({"error_rate": True}, TypeError, "error_rate"),
        ({"rate_limit": 0}, ValueError, "rate_limit"),
        ({"rate_limit": -5}, ValueError, "rate_limit"),
        ({"rate_limit": math.nan}, ValueError, "rate_limit"),
        ({"seed": "abc"}, TypeError, "seed"),
        ({"port": 70000}, ValueError, "port"),
        ({"port": -1}, ValueError, "port"),
        ({"port": "8000"}, TypeError, "port"),
    ],
)
def test_bad_settings_raise_naming_the_setting(
    settings: dict[str, Any], error: type[Exception], name: str
) -> None:
    before = children()
    with pytest.raises(error, match=name):
        start_server(**settings)
    assert children() == before  # checked before any process starts


def test_configure_validates_and_keeps_what_it_is_not_given() -> None:
    with start_server(latency=0.01, seed=5) as local:
        local.configure(error_rate=0.25)
        assert local.settings == {
            "latency": 0.01, "jitter": 0.0, "error_rate": 0.25, "rate_limit": None, "seed": 5
        }  # fmt: skip
        with pytest.raises(ValueError, match="error_rate"):
            local.configure(error_rate=2, latency=1)
        assert local.settings["latency"] == 0.01
        assert "error_rate=0.25" in repr(local)


def test_port_in_use_raises_server_error_saying_what_to_do(api: LocalAPI) -> None:
    with pytest.raises(ServerError, match=f"port {api.port} .* already in use"):
        start_server(port=api.port)
    with start_server(port=0) as other:
        assert other.port not in (0, api.port)


# -- statistics ---------------------------------------------------------------------------------


@run_async
async def test_stats_count_requests_by_status_and_in_flight() -> None:
    with start_server() as api:
        async with session() as client:
            for path in ("/posts/1", "/posts/2", "/posts/x", "/nothing"):
                await get(client, api.url + path)
            assert api.stats() == {
                "requests": 4, "by_status": {200: 2, 400: 1, 404: 1}, "in_flight": 0,
                "peak_in_flight": 1,
            }  # fmt: skip
            slow = [asyncio.ensure_future(get(client, f"{api.url}/delay/0.5")) for _ in range(3)]
            while api.stats()["in_flight"] < 3:
                await asyncio.sleep(0.01)
            api.reset_stats()
            assert api.stats() == {
                "requests": 0, "by_status": {}, "in_flight": 3, "peak_in_flight": 3
            }  # fmt: skip
            await asyncio.gather(*slow)
        stats = api.stats()
        assert stats["by_status"] == {200: 3} and stats["in_flight"] == 0


@pytest.mark.slow
@run_async
async def test_a_thousand_concurrent_requests_with_latency_all_succeed() -> None:
    async with serve(latency=0.1) as api, session(limit=0) as client:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(get(client, f"{api.url}/posts/{i % 100 + 1}") for i in range(1000))
        )
        elapsed = time.perf_counter() - start
        stats = api.stats()
    assert [status for status, _, _ in results] == [200] * 1000
    assert stats["requests"] == 1000 and stats["by_status"] == {200: 1000}
    assert stats["peak_in_flight"] > 100  # they overlapped
    assert elapsed < 15  # not 1000 x 0.1 s


# -- starting and stopping ----------------------------------------------------------------------


def test_start_server_runs_the_api_in_a_child_process_and_stop_ends_it() -> None:
    api = start_server()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", api.url)
    assert urlopen(f"{api.url}/users/1")[0] == 200
    assert api.pid in children() and api.pid != os.getpid()
    command = Path(f"/proc/{api.pid}/cmdline").read_bytes().split(b"\0")
    assert command[1:3] == [b"-m", b"asynckit.server"]
    assert not [t for t in threading.enumerate() if t is not threading.current_thread()
                and not t.daemon and t.name != "MainThread"]  # fmt: skip
    api.stop()
    assert not alive(api.pid)  # stop() waited for it
    api.stop()  # idempotent
    assert not api.running and "stopped" in repr(api)
    assert refused(api.port)
    assert api.stats()["by_status"] == {200: 1}  # the final figures stay readable
    with pytest.raises(ServerError, match="stopped: start a new one"):
        api.configure(latency=1)


def test_a_child_that_cannot_start_says_why_with_what_it_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "aiohttp"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('this aiohttp is broken on purpose')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the child finds it before the real one
    before = children()
    with pytest.raises(ServerError, match="ended before it started listening") as info:
        start_server()
    assert "this aiohttp is broken on purpose" in str(info.value)
    assert "exit code 1" in str(info.value)
    assert children() == before


def test_a_child_too_slow_to_start_is_ended_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from asynckit import _server

    monkeypatch.setattr(_server, "_START_TIMEOUT", 0.01)  # no interpreter starts this fast
    before = children()
    with pytest.raises(ServerError, match="did not start within 0.01 s"):
        start_server()
    assert children() == before


def test_the_control_route_needs_the_token_and_is_not_counted(api: LocalAPI) -> None:
    assert api.pid is not None
    command = Path(f"/proc/{api.pid}/cmdline").read_bytes()
    token = api._server._token  # type: ignore[attr-defined]
    assert token.encode() not in command  # not on the command line, where others could read it
    before = api.stats()["requests"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for headers in ({}, {"X-Control-Token": "guess"}, {"X-Control-Token": token[:-1]}):
        request = urllib.request.Request(
            f"{api.url}/_control", data=b'{"action": "state"}', headers=headers, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            opener.open(request, timeout=10)
        with info.value:
            assert info.value.code == 403
    assert api.stats()["requests"] == before


def test_the_child_ends_when_its_parent_is_killed() -> None:
    script = (
        "import time, asynckit\n"
        "api = asynckit.start_server()\n"
        "print(api.pid, api.port, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pid, port = map(int, parent.stdout.readline().split())
        assert alive(pid) and urlopen(f"http://127.0.0.1:{port}/posts/1")[0] == 200
        parent.send_signal(signal.SIGKILL)  # no atexit, no finally: the kernel just ends it
        parent.wait(10)
        assert wait_until_gone(pid), f"the server process {pid} outlived its parent"
        assert refused(port)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.communicate()


def test_an_interrupted_start_leaves_no_process_behind() -> None:
    # Ctrl-C (or a notebook's stop button: SIGINT) at many moments during start_server().
    script = (
        "import os, signal, threading, time, asynckit\n"
        "from pathlib import Path\n"
        "def children():\n"
        "    found = []\n"
        "    for stat in Path('/proc').glob('[0-9]*/stat'):\n"
        "        try: fields = stat.read_text().rpartition(')')[2].split()\n"
        "        except OSError: continue\n"
        "        if int(fields[1]) == os.getpid() and fields[0] != 'Z': found.append(stat)\n"
        "    return found\n"
        "interrupted = 0\n"
        "for delay in [0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6]:\n"
        "    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))\n"
        "    try:\n"
        "        timer.start()\n"
        "        asynckit.start_server().stop()\n"
        "        timer.join()\n"
        "    except KeyboardInterrupt:\n"
        "        interrupted += 1\n"
        "    assert not children(), (delay, children())\n"
        "print(interrupted)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 6, result.stdout  # most starts were interrupted somewhere


def test_a_server_started_from_a_thread_outlives_the_thread() -> None:
    started: list[LocalAPI] = []
    thread = threading.Thread(target=lambda: started.append(start_server()))
    thread.start()
    thread.join()
    (api,) = started
    try:
        time.sleep(0.2)
        assert api.running and urlopen(f"{api.url}/posts/1")[0] == 200
    finally:
        api.stop()


def test_a_child_that_dies_is_reported_as_gone() -> None:
    api = start_server()
    assert api.pid is not None
    os.kill(api.pid, signal.SIGKILL)
    assert wait_until_gone(api.pid)
    assert "ended" in repr(api)
    assert not api.running
    with pytest.raises(ServerError, match="is gone: its process ended .*start_server"):
        api.stats()
    api.stop()


@run_async
async def test_stop_with_requests_in_flight_is_quick_and_quiet() -> None:
    api = start_server()
    async with session() as client:
        pending = asyncio.ensure_future(get(client, f"{api.url}/delay/10"))
        streaming = asyncio.ensure_future(get(client, f"{api.url}/stream/comments?interval=5"))
        while api.stats()["in_flight"] < 2:
            await asyncio.sleep(0.01)
        start = time.perf_counter()
        await asyncio.to_thread(api.stop)
        assert time.perf_counter() - start < 5
        for task in (pending, streaming):
            with contextlib.suppress(aiohttp.ClientError):
                await task
    assert refused(api.port)


@run_async
async def test_serve_runs_in_the_current_loop_and_stops_with_the_block() -> None:
    async with serve(port=0) as api, session() as client:
        assert threading.current_thread() is threading.main_thread()
        status, _, data = await get(client, f"{api.url}/albums/7")
        assert (status, data["id"]) == (200, 7)
        assert api.stats()["requests"] == 1
        with pytest.raises(ServerError, match="async with"):
            api.stop()
    assert not api.running
    assert refused(api.port)


def test_serve_under_trio_says_to_use_start_server() -> None:
    async def main() -> None:
        async with serve():
            pass

    with pytest.raises(ServerError, match="start_server"):
        trio.run(main)


def test_start_server_works_from_trio() -> None:
    results: list[tuple[int, Any]] = []

    async def main(url: str) -> None:
        async def fetch(i: int) -> None:
            results.append(await trio.to_thread.run_sync(urlopen, f"{url}/todos/{i}"))

        async with trio.open_nursery() as nursery:
            for i in range(1, 6):
                nursery.start_soon(fetch, i)

    with start_server(latency=0.3) as api:
        start = time.perf_counter()
        trio.run(main, api.url)
        elapsed = time.perf_counter() - start
    assert sorted(data["id"] for _, data in results) == [1, 2, 3, 4, 5]
    assert {status for status, _ in results} == {200}
    assert elapsed < 1.2  # five requests of 0.3 s overlapped


def test_configure_from_another_thread_takes_effect() -> None:
    with start_server() as api:
        threading.Thread(target=api.configure, kwargs={"error_rate": 1.0}).start()
        deadline = time.monotonic() + 5
        while api.settings["error_rate"] != 1.0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert urlopen(f"{api.url}/posts/1")[0] == 503


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "asynckit.server", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_interrupted(stop_signal: signal.Signals) -> None:
    process = cli("--latency", "0.05", "--seed", "1")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        assert urlopen(f"{match.group()}/posts/1")[0] == 200
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "GET /posts/1" in err  # the access log


def test_cli_rejects_bad_settings_and_busy_ports(api: LocalAPI) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "asynckit.server", "--error-rate", "2"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert bad.returncode == 2 and "error_rate" in bad.stderr
    busy = subprocess.run(
        [sys.executable, "-m", "asynckit.server", "--port", str(api.port)],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert busy.returncode == 1 and "already in use" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_a_forgotten_server_stops_cleanly_at_exit() -> None:
    script = (
        "import urllib.request, asynckit\n"
        "api = asynckit.start_server(latency=0.05)\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "print(opener.open(api.url + '/posts/1', timeout=10).status)\n"
    )
    script += "print(api.pid)\n"
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", script], capture_output=True, text=True, timeout=20
    )
    status, pid = result.stdout.split()
    assert (result.returncode, status, result.stderr) == (0, "200", "")
    assert wait_until_gone(int(pid))


def test_the_command_line_module_starts_without_warnings():
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "asynckit.server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--latency" in result.stdout and result.stderr == ""


# -- hostile input ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` has used so far, user and system, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def hostile_requests(port: int) -> dict[str, bytes]:
    """Requests a hostile client might send: long numbers, paths, queries and headers."""
    host = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n"
    requests = {}
    for size in (4_000, 8_000, 64_000):  # 4 kB: just within the longest request line
        number = "1" * size + "x"
        wheres = [
            f"/posts/1?delay={number}", f"/delay/{number}", f"/posts/{number}",
            f"/posts?_limit={number}", f"/stream/posts?n={number}&interval=0",
            f"/posts/1?fail={number}", f"/users/{number}/posts", "/" + "a/" * (size // 2),
            "/posts?" + "userId=1&" * (size // 9), "/" + "%41" * (size // 3),
        ]  # fmt: skip
        for where in wheres:
            request = f"GET {where} HTTP/1.1\r\n{host}\r\n"
            requests[f"{where[:24]}... ({size} B)"] = request.encode()
        requests[f"header ({size} B)"] = (
            f"GET /posts/1 HTTP/1.1\r\n{host}X-Big: {'y' * size}\r\n\r\n".encode()
        )
        requests[f"Host ({size} B)"] = (
            f"GET /posts/1 HTTP/1.1\r\nHost: {'h' * size}\r\nConnection: close\r\n\r\n".encode()
        )
    many = "".join(f"X-{i}: {'z' * 60}\r\n" for i in range(size // 64))
    requests["many headers"] = f"GET /posts/1 HTTP/1.1\r\n{host}{many}\r\n".encode()
    return requests


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
@run_async
async def test_no_request_costs_the_server_more_than_a_few_ms_of_cpu(api: LocalAPI) -> None:
    # The server's own CPU time, not the wall clock: /proc counts it in ticks of 10 ms, so each
    # request is sent many times and the total divided.
    assert api.pid is not None
    repeats = 40
    costs = {}
    for name, request in hostile_requests(api.port).items():
        before = cpu_seconds(api.pid)
        for _ in range(repeats):
            answer = await raw_request(api.port, request)
            refused = not answer and len(request) > 8192  # reset, answer unread
            assert refused or re.match(rb"HTTP/1\.[01] [24]\d\d ", answer), (name, answer[:80])
        costs[name] = (cpu_seconds(api.pid) - before) / repeats * 1000
    worst = max(costs, key=costs.__getitem__)
    assert costs[worst] <= 5, f"{worst} cost {costs[worst]:.1f} ms of CPU: {costs}"
    status, _ = await asyncio.to_thread(urlopen, f"{api.url}/posts/1")
    assert status == 200  # still serving


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the RSS from /proc")
@run_async
async def test_ten_thousand_distinct_queries_keep_memory_bounded() -> None:
    # Each query asks for a different slice of the 500 comments (about 100 kB each): 1 GB if
    # every answer were kept. HEAD makes the server build each answer without sending it.
    with start_server() as local:
        assert local.pid is not None
        async with session(limit=20) as client:
            await get(client, f"{local.url}/comments?_start=1&_end=2")
            before = rss_mb(local.pid)
            slices = [(i % 100, 500 - i // 100) for i in range(10_000)]
            # and the same slice asked for in ways that differ only in their text
            same = [f"_start=1&_end={1000 + i}&postId=999{i}&postId=1" for i in range(2_000)]
            queries = [f"_start={a}&_end={b}" for a, b in slices] + same
            semaphore = asyncio.Semaphore(20)

            async def head(query: str) -> None:
                async with semaphore, client.head(f"{local.url}/comments?{query}") as response:
                    assert response.status == 200

            await asyncio.gather(*(head(q) for q in queries))
            grown = rss_mb(local.pid) - before
            assert local.stats()["by_status"] == {200: len(queries) + 1}
    assert grown < 40, f"the server grew by {grown:.0f} MB"  # the cache holds at most 16 MB

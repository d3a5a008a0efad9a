"""fetch, fetch_json and fetch_all against the local API, over real sockets, with real aiohttp."""

import asyncio
import contextlib
import io
import math
import socket
import time
from fractions import Fraction

import aiohttp
import aiohttp.abc
import aiohttp.client_reqrep
import pytest

import asynckit


@pytest.fixture(scope="module")
def api():
    with asynckit.start_server() as server:
        yield server


@pytest.fixture
def slow_api():
    with asynckit.start_server(latency=0.1) as server:
        yield server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def with_session(fn):
    async with aiohttp.ClientSession() as session:
        return await fn(session)


def test_the_articles_code_with_only_the_url_changed(api, capsys):
    import aiohttp

    async def fetch_data(url):
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.json()

    async def main():
        data = await fetch_data(f"{api.url}/posts/1")
        print(data)

    asyncio.run(main())
    printed = capsys.readouterr().out
    post = eval(printed)  # the article prints the dict
    assert set(post) == {"userId", "id", "title", "body"}
    assert post["id"] == 1 and post["userId"] == 1


def test_fetch_json_records_a_fetch_span_with_the_status(api):
    async def main(session):
        with asynckit.Timeline() as tl:
            post = await asynckit.fetch_json(session, f"{api.url}/posts/3")
            text = await asynckit.fetch(session, f"{api.url}/users/2", label="user two")
        return tl, post, text

    tl, post, text = asyncio.run(with_session(main))
    assert post["id"] == 3
    assert '"id": 2' in text or '"id":2' in text
    assert [(s.label, s.kind, s.detail, s.error) for s in tl.spans] == [
        ("/posts/3", "fetch", "200", None),
        ("user two", "fetch", "200", None),
    ]


def test_http_errors_raise_fetch_error_with_url_status_and_the_servers_message(api):
    url = f"{api.url}/posts/9999"

    async def main(session):
        with asynckit.Timeline() as tl, pytest.raises(asynckit.FetchError) as info:
            await asynckit.fetch_json(session, url)
        return tl, info.value

    tl, error = asyncio.run(with_session(main))
    assert error.status == 404 and error.url == url
    assert "404" in str(error) and url in str(error)
    (s,) = tl.spans
    assert s.error == "FetchError" and s.detail == "404"


class NoSuchHost(aiohttp.abc.AbstractResolver):
    """A resolver that knows no name, as a failed lookup would answer (no network is used)."""

    async def resolve(self, host, port=0, family=socket.AF_INET):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self):
        pass


def test_a_host_that_does_not_resolve_says_to_check_the_host():
    url = "http://api.example.invalid/posts/1"

    async def main():
        connector = aiohttp.TCPConnector(resolver=NoSuchHost())
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(asynckit.FetchError) as info:
                await asynckit.fetch_json(session, url)
        return info.value

    error = asyncio.run(main())
    assert "'api.example.invalid' does not resolve" in str(error) and "check the host" in str(error)
    assert "start_server" not in str(error) and error.status is None


def test_https_to_a_plain_http_server_is_a_tls_error(api):
    url = api.url.replace("http://", "https://") + "/posts/1"

    async def main(session):
        with pytest.raises(asynckit.FetchError) as info:
            await asynckit.fetch_json(session, url)
        return info.value

    error = asyncio.run(with_session(main))
    assert "TLS (https) handshake" in str(error) and "http://" in str(error)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/x", "http:// and https:// URLs only"),
        ("127.0.0.1/x", "not a valid URL"),
        ("http://[::1/x", "not a valid URL"),  # urlsplit itself refuses it
    ],
)
def test_a_url_fetch_cannot_use_says_so(url, message):
    async def main(session):
        with pytest.raises(asynckit.FetchError, match=message):
            await asynckit.fetch_json(session, url)

    asyncio.run(with_session(main))


def test_a_refused_connection_elsewhere_does_not_mention_the_local_api():
    # The message alone, from the exception aiohttp raises (no connection to anywhere).
    from asynckit._http import _failure

    key = aiohttp.client_reqrep.ConnectionKey("10.1.2.3", 8080, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    message = str(_failure("http://10.1.2.3:8080/x", refused, None))
    assert "10.1.2.3:8080 refused the connection" in message and "start_server" not in message


@contextlib.asynccontextmanager
async def odd_server(answer: bytes):
    """A server that answers every connection with ``answer`` as it is, then hangs up."""

    async def reply(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def http_answer(body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


@pytest.mark.parametrize("parse", [False, True])
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (http_answer(b'{"a": "\xff\xfe"}', "application/json; charset=utf-8"), "not text in"),
        (http_answer("{}".encode("utf-16"), "text/plain; charset=utf-8"), "not text in"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", "connection broke"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "connection broke"),
        (b"NOT HTTP AT ALL\r\n\r\n", "failed: "),
    ],
)
def test_broken_answers_are_fetch_errors_that_say_what_broke(answer, message, parse):
    async def main():
        async with odd_server(answer) as url, aiohttp.ClientSession() as session:
            get = asynckit.fetch_json if parse else asynckit.fetch
            with pytest.raises(asynckit.FetchError, match=message):
                await get(session, url + "/x")

    asyncio.run(main())


def test_a_refused_connection_says_how_to_start_the_local_api():
    url = f"http://127.0.0.1:{free_port()}/posts/1"

    async def main(session):
        with pytest.raises(asynckit.FetchError) as info:
            await asynckit.fetch_json(session, url)
        return info.value

    error = asyncio.run(with_session(main))
    assert error.status is None
    assert "no server is listening" in str(error) and "asynckit.start_server()" in str(error)


def test_a_body_that_is_not_json_is_a_fetch_error(api):
    async def main(session):
        with pytest.raises(asynckit.FetchError, match="did not answer JSON"):
            await asynckit.fetch_json(session, f"{api.url}/stream/posts?n=2&interval=0")

    asyncio.run(with_session(main))


@pytest.mark.parametrize("timeout", [0.05, Fraction(1, 20)])
def test_a_per_request_timeout_is_a_fetch_error_and_the_span_records_it(api, timeout):
    async def main(session):
        with asynckit.Timeline() as tl:
            with pytest.raises(asynckit.FetchError, match="timed out: no answer within 0.05 s"):
                await asynckit.fetch_json(session, f"{api.url}/posts/1?delay=2", timeout=timeout)
        return tl

    (s,) = asyncio.run(with_session(main)).spans
    assert s.error == "FetchError" and s.duration < 1.5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"session": "nope"}, TypeError, "aiohttp.ClientSession"),
        ({"url": 5}, TypeError, "url must be a str"),
        ({"timeout": -1}, ValueError, "timeout must be more than 0 seconds"),
        ({"timeout": 0}, ValueError, "timeout must be more than 0 seconds"),  # aiohttp: no limit
        ({"timeout": math.nan}, ValueError, "timeout must be more than 0 seconds"),
        ({"timeout": True}, TypeError, "timeout must be a number of seconds"),
        ({"timeout": "5"}, TypeError, "timeout must be a number of seconds"),
    ],
)
def test_bad_arguments_are_named(api, kwargs, error, message):
    async def main(session):
        args = {"session": session, "url": f"{api.url}/posts/1", **kwargs}
        await asynckit.fetch_json(args.pop("session"), args.pop("url"), **args)

    with pytest.raises(error, match=message):
        asyncio.run(with_session(main))


def test_an_infinite_timeout_leaves_the_request_to_the_sessions_timeout(api):
    async def main():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.5)) as session:
            post = await asynckit.fetch_json(session, f"{api.url}/posts/1", timeout=math.inf)
            with pytest.raises(asynckit.FetchError, match="no answer within the session's timeout"):
                await asynckit.fetch_json(session, f"{api.url}/posts/1?delay=2", timeout=math.inf)
        return post

    assert asyncio.run(main())["id"] == 1


def test_fetch_all_keeps_order_and_respects_the_limit():
    with asynckit.start_server() as api:  # its own, so no earlier request is still in flight
        urls = [f"{api.url}/posts/{i}?delay=0.02" for i in range(40, 0, -1)]
        posts = asyncio.run(asynckit.fetch_all(urls, limit=5))
        assert [p["id"] for p in posts] == list(range(40, 0, -1))
        assert api.stats()["peak_in_flight"] == 5


def test_fetch_all_with_return_exceptions_puts_errors_in_place(api):
    urls = [f"{api.url}/posts/1", f"{api.url}/posts/2?fail=503", f"{api.url}/posts/3"]
    results = asyncio.run(asynckit.fetch_all(urls, return_exceptions=True))
    assert results[0]["id"] == 1 and results[2]["id"] == 3
    assert isinstance(results[1], asynckit.FetchError) and results[1].status == 503


def test_fetch_all_without_return_exceptions_raises_its_failures_as_a_group(api):
    urls = [f"{api.url}/posts/{i}?fail=500" for i in range(1, 4)]
    urls += [f"{api.url}/posts/4?delay=5"] * 3
    started = time.perf_counter()
    with pytest.raises(ExceptionGroup) as info:
        asyncio.run(asynckit.fetch_all(urls))
    group = info.value
    assert isinstance(group, asynckit.FetchError)  # `except asynckit.FetchError` catches it too
    assert 1 <= len(group.exceptions) <= 3
    assert all(isinstance(e, asynckit.FetchError) and e.status == 500 for e in group.exceptions)
    assert f"{len(group.exceptions)} of 6 fetches failed" in str(group)
    assert time.perf_counter() - started < 4  # the slow requests were cancelled, not awaited


def test_fetch_all_groups_every_failure_that_happened(api):
    # Failures that end in the same step of the loop all reach the group: refused connections.
    urls = [f"http://127.0.0.1:{free_port()}/posts/{i}" for i in range(5)]

    caught = []
    try:
        asyncio.run(asynckit.fetch_all(urls))
    except* asynckit.FetchError as group:
        caught.append(group)
    (group,) = caught
    # A refused connection on 127.0.0.1 fails at once: all five fail before any is cancelled.
    assert sorted(e.url for e in group.exceptions) == sorted(urls)
    assert all("no server is listening" in str(e) for e in group.exceptions)


def test_fetch_all_honours_a_limit_above_a_hundred():
    with asynckit.start_server() as api:  # its own, so no earlier request is still in flight
        urls = [f"{api.url}/posts/{i % 100 + 1}?delay=0.5" for i in range(150)]
        asyncio.run(asynckit.fetch_all(urls, limit=150))
        assert api.stats()["peak_in_flight"] == 150  # not aiohttp's default pool of 100


def test_fetch_all_uses_a_given_session_and_leaves_it_open(api):
    async def main(session):
        await asynckit.fetch_all([f"{api.url}/todos/1"], session=session)
        return session.closed

    assert asyncio.run(with_session(main)) is False


def test_fetch_all_shows_a_progress_bar(api, monkeypatch):
    import tqdm

    stream = io.StringIO()
    real = tqdm.tqdm
    monkeypatch.setattr(tqdm, "tqdm", lambda **kw: real(file=stream, **kw))  # a text bar
    asyncio.run(asynckit.fetch_all([f"{api.url}/posts/{i}" for i in range(1, 11)], progress=True))
    assert "10/10" in stream.getvalue()


@pytest.mark.parametrize(("urls", "limit"), [("http://x", 1), ([], 0), ([], 1.5)])
def test_fetch_all_checks_its_arguments(urls, limit):
    with pytest.raises((TypeError, ValueError)):
        asyncio.run(asynckit.fetch_all(urls, limit=limit))


@pytest.mark.parametrize("n", [0, 3])
def test_fetch_all_names_a_session_that_is_not_one_whatever_the_urls(api, n):
    urls = [f"{api.url}/posts/{i}" for i in range(1, n + 1)]
    with pytest.raises(TypeError, match="^session= must be an aiohttp.ClientSession, not str"):
        asyncio.run(asynckit.fetch_all(urls, session="not a session"))


def test_a_hundred_concurrent_fetches_overlap(slow_api):
    urls = [f"{slow_api.url}/posts/{i}" for i in range(1, 101)]

    async def main():
        with asynckit.Timeline() as tl:
            started = time.perf_counter()
            await asynckit.fetch_all(urls, limit=100)
            return time.perf_counter() - started, tl

    elapsed, tl = asyncio.run(main())
    assert len(tl.spans) == 100 and all(s.detail == "200" for s in tl.spans)
    assert elapsed < 1.0  # sequentially this takes over 10 s


def test_no_session_or_socket_is_left_open(api):
    # ResourceWarning is an error in this suite; collecting garbage here would surface one.
    import gc

    asyncio.run(asynckit.fetch_all([f"{api.url}/posts/1"] * 5))
    with contextlib.suppress(Exception):
        asyncio.run(asynckit.fetch_all([f"{api.url}/posts/x"]))
    gc.collect()


def test_a_429_carries_retry_after():
    with asynckit.start_server(rate_limit=1) as limited:

        async def main(session):
            await asynckit.fetch_json(session, f"{limited.url}/posts/1")
            with pytest.raises(asynckit.FetchError) as info:
                await asynckit.fetch_json(session, f"{limited.url}/posts/1")
            return info.value

        error = asyncio.run(with_session(main))
    assert error.status == 429 and error.retry_after is not None and error.retry_after >= 1
    assert f"retry after {error.retry_after:g} s" in str(error)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), ("0.5", 0.5), ("nan", None), ("-1", None), ("soon", None), ("9" * 400, None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_is_read_in_seconds_or_as_a_date(header, seconds):
    from asynckit._http import _retry_after

    assert _retry_after(header) == seconds


def test_fetch_errors_survive_pickling_with_their_fields():
    import pickle

    error = asynckit.FetchError("GET x answered 429", url="x", status=429, retry_after=2.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.url, copy.status, copy.retry_after) == (str(error), "x", 429, 2.0)

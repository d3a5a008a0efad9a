"""trace_config: an aiohttp session's requests recorded as spans, against the local API."""

import asyncio

import aiohttp
import pytest

import asynckit


@pytest.fixture(scope="module")
def api():
    with asynckit.start_server(latency=0.05) as server:
        yield server


def peak(spans):
    edges = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


async def requests(url, n, limit):
    connector = aiohttp.TCPConnector(limit=limit)
    config = asynckit.trace_config()
    async with aiohttp.ClientSession(connector=connector, trace_configs=[config]) as session:

        async def get(i):
            async with session.get(f"{url}/posts/{i}") as response:
                await response.read()
                return response.status

        with asynckit.Timeline() as tl:
            statuses = await asyncio.gather(*(get(i) for i in range(1, n + 1)))
    return tl, statuses


def test_a_pool_of_2_serves_10_requests_in_waves_and_the_waits_show(api):
    tl, statuses = asyncio.run(requests(api.url, 10, limit=2))
    assert statuses == [200] * 10
    done = [s for s in tl.spans if s.kind == "request"]
    waits = [s for s in tl.spans if s.kind == "wait"]
    assert len(done) == 10
    assert {s.label for s in done} == {f"GET /posts/{i}" for i in range(1, 11)}
    assert all(s.detail.startswith("200, ") for s in done)
    connections = sorted(s.detail.split(", ")[1] for s in done)
    assert connections == ["new connection"] * 2 + ["reused connection"] * 8
    assert peak(done) <= 2  # never more requests under way than connections in the pool
    # Eight requests queued for a connection; the later the wave, the longer the wait.
    assert len(waits) == 8 and all(s.label == "pool wait" for s in waits)
    assert max(s.duration for s in waits) > 3 * 0.05 * 0.8
    # Each wait sits in its request's row, just before it.
    for wait in waits:
        (request,) = [s for s in done if s.task == wait.task]
        assert wait.end <= request.start + 1e-6
    assert len({s.task for s in done}) == 10


def test_a_pool_large_enough_runs_every_request_at_once_without_waiting(api):
    tl, statuses = asyncio.run(requests(api.url, 10, limit=100))
    done = [s for s in tl.spans if s.kind == "request"]
    assert statuses == [200] * 10 and len(done) == 10
    assert not [s for s in tl.spans if s.kind == "wait"]
    assert peak(done) >= 5  # they overlap (all ten, unless the machine is very busy)
    assert all(s.detail == "200, new connection" for s in done)


def test_an_error_status_and_a_refused_connection_are_marked(api):
    async def main():
        config = asynckit.trace_config()
        async with aiohttp.ClientSession(trace_configs=[config]) as session:
            with asynckit.Timeline() as tl:
                async with session.get(f"{api.url}/posts/1?fail=503") as response:
                    await response.read()
                with pytest.raises(aiohttp.ClientConnectorError):
                    await session.get("http://127.0.0.1:1/nothing")
        return tl

    tl = asyncio.run(main())
    failed, refused = tl.spans
    assert failed.label == "GET /posts/1?fail=503" and failed.error == "HTTP 503"
    assert failed.detail == "503, new connection"
    assert refused.label == "GET /nothing" and refused.error is not None
    assert "Error" in refused.error


def test_a_request_is_labelled_with_its_path_as_sent(api):
    async def main():
        config = asynckit.trace_config()
        async with aiohttp.ClientSession(trace_configs=[config]) as session:
            with asynckit.Timeline() as tl:
                async with session.get(f"{api.url}/posts", params={"title": "a é"}) as response:
                    await response.read()
        return tl

    (request,) = asyncio.run(main()).spans
    assert request.label == "GET /posts?title=a+%C3%A9"


def test_fetch_through_a_traced_session_counts_each_request_once(api):
    # asynckit.fetch records a "fetch" span and the trace config a "request" span inside it:
    # two spans, one request.
    async def main():
        config = asynckit.trace_config()
        async with aiohttp.ClientSession(trace_configs=[config]) as session:
            with asynckit.Timeline() as together:
                await asyncio.gather(
                    *(asynckit.fetch(session, f"{api.url}/posts/{i}") for i in (1, 2, 3))
                )
            with asynckit.Timeline() as in_turn:
                for i in (1, 2):
                    await asynckit.fetch_json(session, f"{api.url}/posts/{i}")
            with asynckit.Timeline() as failing:
                with pytest.raises(asynckit.FetchError):
                    await asynckit.fetch(session, f"{api.url}/posts/1?fail=500")
                await asynckit.fetch(session, f"{api.url}/posts/1")
        return together, in_turn, failing

    together, in_turn, failing = asyncio.run(main())
    assert [s.kind for s in together.spans].count("request") == 3
    assert [s.kind for s in together.spans].count("fetch") == 3  # both kept, and drawn
    assert "· 3 requests (at most 3 in flight)" in together.summary()
    assert "· 2 requests (at most 1 in flight)" in in_turn.summary()
    assert "· 2 requests (at most 1 in flight) · 1 failed span" in failing.summary()


def test_fetch_and_a_traced_request_in_one_task_count_as_two(api):
    async def main():
        config = asynckit.trace_config()
        async with (
            aiohttp.ClientSession() as plain,
            aiohttp.ClientSession(trace_configs=[config]) as traced,
        ):
            with asynckit.Timeline() as tl:
                await asynckit.fetch(plain, f"{api.url}/posts/1")  # a fetch, untraced
                async with traced.get(f"{api.url}/posts/2") as response:  # traced, no fetch
                    await response.read()
        return tl

    tl = asyncio.run(main())
    assert "· 2 requests (at most 1 in flight)" in tl.summary()


def test_outside_a_timeline_nothing_is_recorded_and_requests_work(api):
    async def main():
        config = asynckit.trace_config()
        async with aiohttp.ClientSession(trace_configs=[config]) as session:
            async with session.get(f"{api.url}/users/1") as response:
                user = await response.json()
            with asynckit.Timeline() as tl:
                pass
        return user, tl

    user, tl = asyncio.run(main())
    assert user["id"] == 1 and len(tl) == 0


def test_the_config_shares_one_session_across_timelines(api):
    async def main():
        config = asynckit.trace_config()
        async with aiohttp.ClientSession(trace_configs=[config]) as session:
            timelines = []
            for _ in range(2):
                with asynckit.Timeline() as tl:
                    async with session.get(f"{api.url}/todos/1") as response:
                        await response.read()
                timelines.append(tl)
        return timelines

    first, second = asyncio.run(main())
    assert [s.detail for s in first.spans] == ["200, new connection"]
    assert [s.detail for s in second.spans] == ["200, reused connection"]

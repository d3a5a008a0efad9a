"""Exercises of 06 Limit concurrency with semaphores, rate limits and queues."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from typing import Any

import aiohttp

from .. import FetchError, Span, Timeline, sleep, trace_config
from ._exercise import Exercise, Mistake, function, local_api

__all__ = ["GIVEN", "Pacer", "q1", "q2", "q3"]


class Pacer:
    """Let callers through at most ``rate`` times per second, evenly spaced (the notebook's)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next_at = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        at = max(self.next_at, now)
        self.next_at = at + self.interval
        if at > now:
            await sleep(at - now, label="pacing")


#: What the notebook defines before its exercises, for the tests that run an answer alone.
GIVEN: dict[str, Any] = {"Pacer": Pacer}


def _fetches(tl: Timeline) -> list[Span]:
    return [s for s in tl.spans if s.kind == "fetch"]


q1 = Exercise(
    "q1",
    "Honour Retry-After",
    hint="""
        Loop over the attempts. Inside, `try: return await asynckit.fetch_json(session, url)`;
        `except asynckit.FetchError as error:` re-raise (`raise`) unless `error.status == 429`
        and attempts are left, otherwise `await asynckit.sleep(error.retry_after)` and go round
        again.
    """,
    solution="""
        async def get_json_politely(session, url, attempts=5):
            for attempt in range(1, attempts + 1):
                try:
                    return await asynckit.fetch_json(session, url)
                except asynckit.FetchError as error:
                    if error.status != 429 or attempt == attempts:
                        raise  # not a rate limit, or out of attempts
                    await asynckit.sleep(error.retry_after, label="Retry-After")
    """,
)


@q1.checks
async def _get_json_politely(get_json_politely: Any) -> str:
    get_json_politely = function(get_json_politely, "get_json_politely")
    api = local_api(latency=0.01, rate_limit=8)
    urls = [f"{api.url}/posts/{i}" for i in range(1, 13)]
    escaped: FetchError | None = None
    async with aiohttp.ClientSession() as session:
        with Timeline() as tl:
            try:
                posts = await asyncio.gather(*(get_json_politely(session, url) for url in urls))
            except FetchError as error:
                escaped, posts = error, []
        statuses = api.stats()["by_status"]
        _too_soon(tl)
        if escaped is not None:
            if escaped.status == 429:
                raise Mistake(
                    f"the server refused {statuses.get(429, 0)} of the 12 requests fired at once "
                    f"(429 Too Many Requests), and one refusal came out of get_json_politely as "
                    "a FetchError: catch FetchError whose .status is 429, sleep .retry_after "
                    "seconds, and try again"
                )
            raise Mistake(f"get_json_politely raised {escaped}")
        if any(p is None for p in posts):
            raise Mistake("get_json_politely(session, url) returned None: return the post")
        if not statuses.get(429):
            raise Mistake(
                "the server refused none of the 12 requests the check fired at once, so it "
                "could not see a retry: get_json_politely should fetch at once, not queue up"
            )
        ids = [p.get("id") if isinstance(p, dict) else p for p in posts]
        if ids != list(range(1, 13)):
            raise Mistake(f"the 12 posts came back with ids {ids}, not 1 to 12 in order")
        retries = statuses[429]
        api.reset_stats()
        try:
            await get_json_politely(session, f"{api.url}/posts/999")
        except FetchError as error:
            if error.status != 404:
                raise Mistake(f"for a missing post get_json_politely raised {error}") from None
        else:
            raise Mistake(
                "get_json_politely returned for /posts/999, which the server answers with "
                "404: let errors other than 429 out (re-raise them)"
            )
        tries = api.stats()["requests"]
        if tries > 1:
            raise Mistake(
                f"for /posts/999 (404 Not Found) get_json_politely sent {tries} requests: only "
                "a 429 is worth retrying; a 404 will not change, so re-raise it at once"
            )
    return (
        f"12 posts in order; the server refused {retries} and answered all 12 after your "
        f"retries waited the Retry-After it asked for ({tl.elapsed:.2f} s in all); a 404 was "
        "raised at once"
    )


def _too_soon(tl: Timeline) -> None:
    """A Mistake if a request refused with 429 was sent again before its Retry-After (1 s)."""
    by_path: dict[str, list[Span]] = {}
    for s in _fetches(tl):
        by_path.setdefault(s.label, []).append(s)
    for path, tries in by_path.items():
        for refused, retry in pairwise(sorted(tries, key=lambda s: s.start)):
            gap = retry.start - refused.end
            if refused.detail == "429" and gap < 0.8:
                raise Mistake(
                    f"{path} was refused with 429 and Retry-After: 1, but your function tried "
                    f"again {gap * 1000:.0f} ms later: sleep error.retry_after seconds before "
                    "the next attempt, or the server keeps refusing"
                )


q2 = Exercise(
    "q2",
    "The tighter limit wins",
    hint="""
        Make one `Pacer(rate)` and one `asyncio.Semaphore(limit)` inside `fetch_limited`, then
        gather one small coroutine per URL that first does `await pacer.wait()` and only then
        `async with permits:` fetches (wait for the pacer before taking a permit: a permit
        held while pacing sits idle).
    """,
    solution="""
        async def fetch_limited(session, urls, rate, limit):
            pacer, permits = Pacer(rate), asyncio.Semaphore(limit)

            async def one(url):
                await pacer.wait()  # wait for the rate first, holding no permit
                async with permits:
                    return await asynckit.fetch_json(session, url)  # at most `limit` in flight

            return await asyncio.gather(*(one(url) for url in urls))
    """,
)


@q2.checks
async def _fetch_limited(fetch_limited: Any) -> str:
    fetch_limited = function(fetch_limited, "fetch_limited")
    # Traced: the check sees every request, made with asynckit.fetch_json or session.get.
    async with aiohttp.ClientSession(trace_configs=[trace_config()]) as session:
        # A fast server without a limit: only the pacer can space the requests out.
        api = local_api(latency=0.0)
        urls = [f"{api.url}/posts/{i}" for i in range(1, 13)]
        with Timeline() as fast:
            posts = await fetch_limited(session, urls, 40, 3)
        _in_order(posts, 12)
        starts = sorted(s.start for s in fast.spans if s.kind == "request")
        if len(starts) != 12:
            raise Mistake(
                f"the check saw {len(starts)} requests for 12 URLs: fetch each URL once, with "
                "the session the check passes in"
            )
        sent = 11 / max(starts[-1] - starts[0], 1e-6)
        if sent > 2 * 40:
            raise Mistake(
                f"with rate=40, your requests left at {sent:.0f} per second: each one should "
                "wait for a Pacer(rate) before it fetches"
            )
        # A slow server with a rate limit: now the semaphore is the tighter limit.
        api = local_api(latency=0.1, rate_limit=50)
        urls = [f"{api.url}/posts/{i}" for i in range(1, 19)]
        with Timeline() as slow:
            posts = await fetch_limited(session, urls, 50, 3)
        stats = api.stats()
    _in_order(posts, 18)
    peak, statuses = stats["peak_in_flight"], stats["by_status"]
    if peak > 3:
        raise Mistake(
            f"with limit=3, the server had {peak} of your requests open at once: hold an "
            "asyncio.Semaphore(limit) while each request is in flight"
        )
    if peak < 3:
        raise Mistake(
            f"with limit=3, the server never had more than {peak} request(s) open at once: "
            "the requests should overlap, up to the limit (gather them)"
        )
    if statuses.get(429):
        raise Mistake(f"the server refused {statuses[429]} request(s) with 429: pace every one")
    rate = 18 / slow.elapsed
    return (
        f"paced at 40/s on a fast server ({sent:.0f}/s measured), and at most 3 in flight on a "
        f"slow one: {rate:.0f} requests/s there, since 3 in flight / 0.1 s allow at most 30/s, "
        "below the pacer's 50/s"
    )


def _in_order(posts: Any, n: int) -> None:
    if posts is None:
        raise Mistake("fetch_limited returned None: return the list of posts, in URL order")
    ids = [p.get("id") if isinstance(p, dict) else p for p in posts]
    if ids != list(range(1, n + 1)):
        raise Mistake(f"fetch_limited returned posts with ids {ids}, not 1 to {n} in order")


q3 = Exercise(
    "q3",
    "A two-stage pipeline",
    hint="""
        Two queues: `ids` (fill it with the user ids, then one `None` per fetcher) and
        `pairs = asyncio.Queue(maxsize=2)`. Start three fetcher tasks (each loops on
        `ids.get()` until `None`, fetches, and `await pairs.put(...)`) and one collector task
        (loops on `pairs.get()` until `None`). Await the fetchers, then put `None` into `pairs`,
        then await the collector and return its dict.
    """,
    solution="""
        async def fetcher(ids, pairs, session, base_url):
            while (user_id := await ids.get()) is not None:
                url = f"{base_url}/users/{user_id}/posts"
                user_posts = await asynckit.fetch_json(session, url)
                await pairs.put((user_id, len(user_posts)))  # waits while the collector is behind

        async def collector(pairs):
            counts = {}
            while (pair := await pairs.get()) is not None:
                counts[pair[0]] = pair[1]
            return counts

        async def count_posts(session, base_url, user_ids):
            ids, pairs = asyncio.Queue(), asyncio.Queue(maxsize=2)
            for user_id in [*user_ids, None, None, None]:  # one sentinel per fetcher
                ids.put_nowait(user_id)
            fetchers = [asyncio.create_task(fetcher(ids, pairs, session, base_url))
                        for _ in range(3)]
            collecting = asyncio.create_task(collector(pairs))
            await asyncio.gather(*fetchers)  # stage one is done...
            await pairs.put(None)            # ...so tell stage two
            return await collecting
    """,
)


@q3.checks
async def _count_posts(count_posts: Any) -> str:
    count_posts = function(count_posts, "count_posts")
    api = local_api(latency=0.05)
    user_ids = list(range(1, 11))
    async with aiohttp.ClientSession() as session:
        with Timeline() as tl:
            counts = await count_posts(session, api.url, user_ids)
    expected = {user_id: 10 for user_id in user_ids}
    if counts is None:
        raise Mistake("count_posts returned None: return the dict the collector built")
    if counts != expected:
        raise Mistake(f"count_posts returned {counts!r}, not {expected!r}")
    peak = api.stats()["peak_in_flight"]
    fetching = {s.task for s in _fetches(tl)}
    if peak > 3 or len(fetching) > 3:
        raise Mistake(
            f"the posts were fetched by {len(fetching)} tasks, up to {peak} at once: three "
            "fetcher tasks should share the 10 users, each taking the next id from a queue"
        )
    if peak < 3:
        raise Mistake(
            f"the server never had more than {peak} request(s) open at once: start three "
            "fetchers, so that three users are fetched at a time"
        )
    return (
        f"10 users, 10 posts each, fetched by 3 fetcher tasks, 3 at a time, in "
        f"{tl.elapsed:.2f} s; every task stopped when its queue said so"
    )

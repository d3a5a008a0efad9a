"""Exercises of 02 Fetch many URLs at once with aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import aiohttp

from ._exercise import Exercise, Mistake, function, local_api

__all__ = ["q1", "q2", "q3"]


@asynccontextmanager
async def _counted_session() -> AsyncIterator[tuple[aiohttp.ClientSession, list[str]]]:
    """A session for the answer to use, and the list of URLs it requested (so a check can
    tell whether the answer used it or opened sessions of its own)."""
    sent: list[str] = []

    async def on_request_start(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
    ) -> None:
        sent.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, sent


def _used_the_session(sent: list[str], requests: int) -> None:
    if requests and not sent:
        raise Mistake(
            f"the server answered {requests} request(s), but none came through the session "
            "passed in: your code opened sessions of its own; use the one it is given (a "
            "session per request pays for a new connection each time)"
        )


q1 = Exercise(
    "q1",
    "Every user's todos",
    hint="""
        Build the ten URLs `f"{base_url}/users/{i}/todos"` for `i` in 1 to 10, fetch them all in
        one `asyncio.gather(...)` with `asynckit.fetch_json(session, url)`, then count, in each
        list, the todos whose `"completed"` is true (`sum(t["completed"] for t in todos)`).
    """,
    solution="""
        async def completed_todos(session, base_url):
            ids = range(1, 11)
            todo_lists = await asyncio.gather(
                *(asynckit.fetch_json(session, f"{base_url}/users/{i}/todos") for i in ids))
            return {i: sum(t["completed"] for t in todos) for i, todos in zip(ids, todo_lists)}
    """,
)

USERS = range(1, 11)


@q1.checks
async def _completed_todos(completed_todos: Any) -> str:
    completed_todos = function(completed_todos, "completed_todos")
    api = local_api()
    async with aiohttp.ClientSession() as session:
        lists = await asyncio.gather(*(_json(session, f"{api.url}/users/{i}/todos") for i in USERS))
    by_user = dict(zip(USERS, lists, strict=True))
    expected = {i: sum(t["completed"] for t in todos) for i, todos in by_user.items()}
    everything = {i: len(todos) for i, todos in by_user.items()}
    api.configure(latency=0.05)
    api.reset_stats()
    async with _counted_session() as (session, sent):
        answer = await completed_todos(session, api.url)
    stats = api.stats()
    if answer is None:
        raise Mistake("completed_todos(session, base_url) returned None: return the dict of counts")
    if not isinstance(answer, dict):
        raise Mistake(
            f"completed_todos returned a {type(answer).__name__}, not a dict such as "
            "{1: 8, 2: 8, ...} (user id: completed todos)"
        )
    if sorted(map(str, answer)) == sorted(map(str, USERS)) and sorted(answer) != list(USERS):
        raise Mistake(
            f"the dict's keys are {sorted(answer)[:3]}...: use the user ids as ints (1 to 10)"
        )
    if answer == everything:
        raise Mistake(
            "you counted every todo of each user (20 each): count only those whose "
            '"completed" is true'
        )
    if answer != expected:
        raise Mistake(f"completed_todos returned {answer}, where the API's todos give {expected}")
    _used_the_session(sent, stats["requests"])
    peak = stats["peak_in_flight"]
    if peak < len(USERS):
        raise Mistake(
            f"the server never had more than {peak} of the 10 requests at once"
            + (", so they ran one after another" if peak == 1 else "")
            + ": start them all (one asyncio.gather over the ten fetches) before awaiting any"
        )
    return f"the right counts, and the server had all {peak} requests in flight at once"


async def _json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


q2 = Exercise(
    "q2",
    "Be polite without a connector limit",
    hint="""
        Make ONE `asyncio.Semaphore(limit)` per call of `first_posts`, shared by every fetch,
        and fetch inside `async with semaphore:`. A semaphore made inside each fetch limits
        nothing: each has a gate of its own. `asyncio.gather` keeps the posts in order.
    """,
    solution="""
        async def first_posts(session, base_url, n, limit):
            gate = asyncio.Semaphore(limit)

            async def polite_fetch(url):
                async with gate:
                    return await asynckit.fetch_json(session, url)

            urls = [f"{base_url}/posts/{i}" for i in range(1, n + 1)]
            return await asyncio.gather(*(polite_fetch(url) for url in urls))
    """,
)

#: (n, limit) pairs the check asks for.
POLITE_RUNS = [(30, 5), (12, 3)]


@q2.checks
async def _first_posts(first_posts: Any) -> str:
    first_posts = function(first_posts, "first_posts")
    api = local_api(latency=0.05)
    peaks = []
    for n, limit in POLITE_RUNS:
        api.reset_stats()
        async with _counted_session() as (session, sent):
            posts = await first_posts(session, api.url, n, limit)
        stats = api.stats()
        call = f"first_posts(session, base_url, {n}, {limit})"
        if posts is None:
            raise Mistake(f"{call} returned None: return the list of posts")
        ids = [post.get("id") if isinstance(post, dict) else post for post in posts]
        if sorted(ids, key=str) == sorted(range(1, n + 1), key=str) and ids != list(
            range(1, n + 1)
        ):
            raise Mistake(
                f"{call} returned the posts out of order (ids {ids[:6]}...): return them in "
                "the order of their ids; gather keeps the order of its arguments"
            )
        if ids != list(range(1, n + 1)):
            raise Mistake(f"{call} should return posts 1 to {n} in order; it gave ids {ids}")
        _used_the_session(sent, stats["requests"])
        peak = stats["peak_in_flight"]
        if peak > limit:
            raise Mistake(
                f"{call}: the server had {peak} requests in flight at once, more than the limit "
                f"of {limit}; share one semaphore among all the fetches (one made inside each "
                "fetch limits nothing)"
            )
        if peak < 2:
            raise Mistake(
                f"{call}: the server never had more than one request at a time, so the posts "
                f"came one after another; up to {limit} may be in flight together"
            )
        peaks.append(peak)
    (n1, limit1), (n2, limit2) = POLITE_RUNS
    return (
        f"posts in order; the server saw at most {peaks[0]} requests at once for {n1} posts "
        f"under a limit of {limit1}, and {peaks[1]} for {n2} under {limit2}"
    )


q3 = Exercise(
    "q3",
    "Retry only what can succeed",
    hint="""
        Loop over the attempts with `try: return await asynckit.fetch_json(session, url,
        timeout=0.5)`. In `except asynckit.FetchError as error:`, return `None` when
        `error.status == 404`; otherwise sleep a little longer each time
        (`await asyncio.sleep(0.005 * 2**attempt)`) and try again. After the last attempt,
        raise.
    """,
    solution="""
        async def fetch_or_none(session, url):
            for attempt in range(10):
                try:
                    return await asynckit.fetch_json(session, url, timeout=0.5)
                except asynckit.FetchError as error:
                    if error.status == 404:
                        return None  # retrying cannot make a missing post appear
                    if attempt == 9:
                        raise
                    await asynckit.sleep(0.005 * 2**attempt)
    """,
)

#: Posts 95 to 105: the API has 100 posts, so the last five are missing.
RETRY_IDS = range(95, 106)
#: With this seed, 7 of the first 11 answers at a 30% error rate are 503s, whatever order the
#: requests arrive in: at least two posts that exist fail at the first try.
RETRY_SEED = 100


@q3.checks
async def _fetch_or_none(fetch_or_none: Any) -> str:
    fetch_or_none = function(fetch_or_none, "fetch_or_none")
    api = local_api(error_rate=0.3, seed=RETRY_SEED)
    async with _counted_session() as (session, sent):
        found = await asyncio.gather(
            *(fetch_or_none(session, f"{api.url}/posts/{i}") for i in RETRY_IDS)
        )
    stats = api.stats()
    if stats["requests"] == 0:
        raise Mistake(
            "fetch_or_none(session, url) sent no request: fetch the url with "
            "asynckit.fetch_json(session, url, timeout=0.5)"
        )
    _used_the_session(sent, stats["requests"])
    by_status = {int(status): count for status, count in stats["by_status"].items()}
    unavailable = by_status.get(503, 0)
    for post_id, post in zip(RETRY_IDS, found, strict=True):
        exists = post_id <= 100
        if exists and post is None:
            raise Mistake(
                f"fetch_or_none returned None for post {post_id}, which exists: the server "
                f"answered 503 ('try again') {unavailable} time(s) in this run, and a 503 may "
                "succeed on the next attempt; retry it, return None only on a 404"
            )
        if exists and not (isinstance(post, dict) and post.get("id") == post_id):
            raise Mistake(f"fetch_or_none(session, url) for post {post_id} returned {post!r}")
        if not exists and post is not None:
            raise Mistake(
                f"fetch_or_none returned {post!r} for post {post_id}, which does not exist: "
                "return None on a 404"
            )
    missing = sum(1 for i in RETRY_IDS if i > 100)
    asked_missing = by_status.get(404, 0)
    if asked_missing > missing:
        raise Mistake(
            f"the server answered 404 {asked_missing} times for the {missing} posts that do not "
            "exist: your code retried a 404, which never succeeds; return None at the first one"
        )
    return (
        f"posts 95 to 100 and {missing} Nones; the server answered 503 {unavailable} time(s), "
        f"each retried, and 404 once for each missing post"
    )

"""Wrong answers to 02's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex02

WRONG = {
    "one after another": (
        "q1",
        """
async def completed_todos(session, base_url):
    counts = {}
    for i in range(1, 11):
        todos = await asynckit.fetch_json(session, f"{base_url}/users/{i}/todos")
        counts[i] = sum(t["completed"] for t in todos)
    return counts
""",
        "one after another",
    ),
    "the article's session per request": (
        "q1",
        """
import json

async def fetch_data(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return await response.text()

async def completed_todos(session, base_url):
    ids = range(1, 11)
    pages = await asyncio.gather(*(fetch_data(f"{base_url}/users/{i}/todos") for i in ids))
    return {i: sum(t["completed"] for t in json.loads(page)) for i, page in zip(ids, pages)}
""",
        "opened sessions of its own",
    ),
    "every todo counted": (
        "q1",
        """
async def completed_todos(session, base_url):
    ids = range(1, 11)
    lists = await asyncio.gather(
        *(asynckit.fetch_json(session, f"{base_url}/users/{i}/todos") for i in ids))
    return {i: len(todos) for i, todos in zip(ids, lists)}
""",
        "count only those",
    ),
    "no limit at all": (
        "q2",
        """
async def first_posts(session, base_url, n, limit):
    urls = [f"{base_url}/posts/{i}" for i in range(1, n + 1)]
    return await asyncio.gather(*(asynckit.fetch_json(session, url) for url in urls))
""",
        "more than the limit",
    ),
    "a semaphore per fetch": (
        "q2",
        """
async def polite_fetch(session, url, limit):
    async with asyncio.Semaphore(limit):
        return await asynckit.fetch_json(session, url)

async def first_posts(session, base_url, n, limit):
    urls = [f"{base_url}/posts/{i}" for i in range(1, n + 1)]
    return await asyncio.gather(*(polite_fetch(session, url, limit) for url in urls))
""",
        "one made inside each fetch limits nothing",
    ),
    "politely one at a time": (
        "q2",
        """
async def first_posts(session, base_url, n, limit):
    return [await asynckit.fetch_json(session, f"{base_url}/posts/{i}") for i in range(1, n + 1)]
""",
        "one after another",
    ),
    "completion order": (
        "q2",
        """
async def first_posts(session, base_url, n, limit):
    gate = asyncio.Semaphore(limit)
    async def polite_fetch(i):
        async with gate:
            await asyncio.sleep(0.01 * (n - i))
            return await asynckit.fetch_json(session, f"{base_url}/posts/{i}")
    return [await p for p in asyncio.as_completed([polite_fetch(i) for i in range(1, n + 1)])]
""",
        "out of order",
    ),
    "gives up on any error": (
        "q3",
        """
async def fetch_or_none(session, url):
    try:
        return await asynckit.fetch_json(session, url, timeout=0.5)
    except asynckit.FetchError:
        return None
""",
        "a 503 may succeed on the next attempt",
    ),
    "retries a 404 too": (
        "q3",
        """
async def fetch_or_none(session, url):
    for attempt in range(10):
        try:
            return await asynckit.fetch_json(session, url, timeout=0.5)
        except asynckit.FetchError:
            await asyncio.sleep(0.001 * 2**attempt)
    return None
""",
        "retried a 404",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex02, answer, check_call(exercise, answer), says)

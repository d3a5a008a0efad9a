"""Wrong answers to 06's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying

from asynckit.exercises import ex06

WRONG = {
    "no retry": (
        "q1",
        "get_json_politely",
        """
async def get_json_politely(session, url, attempts=5):
    return await asynckit.fetch_json(session, url)
""",
        "catch FetchError whose .status is 429",
    ),
    "retries at once": (
        "q1",
        "get_json_politely",
        """
async def get_json_politely(session, url, attempts=5):
    for attempt in range(attempts):
        try:
            return await asynckit.fetch_json(session, url)
        except asynckit.FetchError:
            if attempt == attempts - 1:
                raise
""",
        "tried again",
    ),
    "retries a 404": (
        "q1",
        "get_json_politely",
        """
async def get_json_politely(session, url, attempts=3):
    for attempt in range(attempts):
        try:
            return await asynckit.fetch_json(session, url)
        except asynckit.FetchError as error:
            if attempt == attempts - 1:
                raise
            await asynckit.sleep(error.retry_after or 0.01)
""",
        "only a 429 is worth retrying",
    ),
    "semaphore only": (
        "q2",
        "fetch_limited",
        """
async def fetch_limited(session, urls, rate, limit):
    permits = asyncio.Semaphore(limit)

    async def one(url):
        async with permits:
            return await asynckit.fetch_json(session, url)

    return await asyncio.gather(*(one(url) for url in urls))
""",
        "wait for a Pacer(rate)",
    ),
    "pacer only": (
        "q2",
        "fetch_limited",
        """
async def fetch_limited(session, urls, rate, limit):
    pacer = Pacer(rate)

    async def one(url):
        await pacer.wait()
        return await asynckit.fetch_json(session, url)

    return await asyncio.gather(*(one(url) for url in urls))
""",
        "hold an asyncio.Semaphore(limit)",
    ),
    "one at a time": (
        "q2",
        "fetch_limited",
        """
async def fetch_limited(session, urls, rate, limit):
    pacer, posts = Pacer(rate), []
    for url in urls:
        await pacer.wait()
        posts.append(await asynckit.fetch_json(session, url))
    return posts
""",
        "never had more than 1",
    ),
    "gather everything": (
        "q3",
        "count_posts",
        """
async def count_posts(session, base_url, user_ids):
    async def count(user_id):
        return user_id, len(await asynckit.fetch_json(session, f"{base_url}/users/{user_id}/posts"))
    return dict(await asyncio.gather(*(count(u) for u in user_ids)))
""",
        "three fetcher tasks should share",
    ),
    "fetchers never stopped": (
        "q3",
        "count_posts",
        """
async def fetcher(ids, pairs, session, base_url):
    while True:
        user_id = await ids.get()
        user_posts = await asynckit.fetch_json(session, f"{base_url}/users/{user_id}/posts")
        await pairs.put((user_id, len(user_posts)))

async def count_posts(session, base_url, user_ids):
    ids, pairs = asyncio.Queue(), asyncio.Queue(maxsize=2)
    for user_id in user_ids:
        ids.put_nowait(user_id)
    fetchers = [asyncio.create_task(fetcher(ids, pairs, session, base_url)) for _ in range(3)]
    counts = {}
    while len(counts) < len(user_ids):
        user_id, n = await pairs.get()
        counts[user_id] = n
    return counts
""",
        "left 3 task(s) running",
    ),
}


@pytest.mark.parametrize(("exercise", "entry", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, entry: str, answer: str, says: str):
    assert_fails_saying(ex06, answer, f"await ex.{exercise}.check({entry})", says)

"""Wrong answers to 04's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex04

WRONG = {
    "a page past the end": (
        "q1",
        """
async def paginate_counted(session, url, limit=20):
    page = 1
    while True:
        async with session.get(f"{url}?_page={page}&_limit={limit}") as response:
            batch = await response.json()
        if not batch:
            return
        for item in batch:
            yield item
        page += 1
""",
        "a page past the end",
    ),
    "one page short": (
        "q1",
        """
async def paginate_counted(session, url, limit=20):
    page, total = 1, None
    while total is None or page * limit < total:
        async with session.get(f"{url}?_page={page}&_limit={limit}") as response:
            total = int(response.headers["X-Total-Count"])
            batch = await response.json()
        for item in batch:
            yield item
        page += 1
""",
        "yielded 80 items",
    ),
    "returns a list": (
        "q1",
        """
async def paginate_counted(session, url, limit=20):
    async with session.get(f"{url}?_page=1&_limit=100") as response:
        return await response.json()
""",
        "coroutine function (async def without yield)",
    ),
    "break, and the source stays open": (
        "q2",
        """
async def take(source, n):
    if n == 0:
        return
    count = 0
    async for item in source:
        yield item
        count += 1
        if count == n:
            break
""",
        "left the source open",
    ),
    "one item too many": (
        "q2",
        """
async def take(source, n):
    async with contextlib.aclosing(source):
        count = 0
        async for item in source:
            if count == n:
                break
            yield item
            count += 1
""",
        "the extra one was fetched for nothing",
    ),
    "the last batch lost": (
        "q3",
        """
async def batched(source, size):
    batch = []
    async for item in source:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
""",
        "the last, shorter batch [8, 9] is missing",
    ),
    "an empty batch at the end": (
        "q3",
        """
async def batched(source, size):
    batch = []
    async for item in source:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    yield batch
""",
        "the empty batch at the end",
    ),
    "everything read first": (
        "q3",
        """
async def batched(source, size):
    items = [item async for item in source]
    for i in range(0, len(items), size):
        yield items[i : i + size]
""",
        "before it yielded the first batch",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex04, answer, check_call(exercise, answer), says)

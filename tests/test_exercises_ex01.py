"""Wrong answers to 01's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex01

WRONG = {
    "sequential": (
        "q1",
        """
async def hello(name):
    await asynckit.sleep(0.1)
    return f"Hello, {name}"

async def greet_all(names):
    return [await hello(name) for name in names]
""",
        "one after another",
    ),
    "completion order": (
        "q1",
        """
async def hello(name):
    await asynckit.sleep(0.1 / len(name))
    return f"Hello, {name}"

async def greet_all(names):
    return [await g for g in asyncio.as_completed([hello(n) for n in names])]
""",
        "not in the order of the names",
    ),
    "asyncio.sleep, unseen": (
        "q1",
        """
async def hello(name):
    await asyncio.sleep(0.1)
    return f"Hello, {name}"

async def greet_all(names):
    return await asyncio.gather(*(hello(name) for name in names))
""",
        "recorded 0 asynckit.sleep",
    ),
    "losers left running": (
        "q2",
        """
async def job(index, delay):
    await asynckit.sleep(delay)
    return index

async def fastest(delays):
    for next_done in asyncio.as_completed([job(i, d) for i, d in enumerate(delays)]):
        return await next_done
""",
        "left 2 task(s) running",
    ),
    "waits for all": (
        "q2",
        """
async def job(index, delay):
    await asynckit.sleep(delay)
    return index

async def fastest(delays):
    results = await asyncio.gather(*(job(i, d) for i, d in enumerate(delays)))
    return min(range(len(delays)), key=delays.__getitem__)
""",
        "waited for 3 jobs",
    ),
    "still missing the await": (
        "q3",
        """
async def count_down(log):
    for i in (3, 2, 1):
        log.append(i)
        asynckit.sleep(0.05)
""",
        "never awaited",
    ),
    "asyncio.sleep, which the check cannot see": (
        "q3",
        """
async def count_down(log):
    for i in (3, 2, 1):
        log.append(i)
        await asyncio.sleep(0.05)
""",
        "asyncio.sleep waits the same, but leaves no trace",
    ),
    "sleeps at once": (
        "q3",
        """
async def count_down(log):
    waits = []
    for i in (3, 2, 1):
        log.append(i)
        waits.append(asynckit.sleep(0.05))
    await asyncio.gather(*waits)
""",
        "overlapped",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex01, answer, check_call(exercise, answer), says)

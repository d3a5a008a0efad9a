"""Wrong answers to 05's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex05

WRONG = {
    "one user after another": (
        "q1",
        """
async def users_within(session, url, ids, seconds):
    try:
        async with asyncio.timeout(seconds):
            return [await asynckit.fetch_json(session, f"{url}/users/{i}") for i in ids]
    except TimeoutError:
        return None
""",
        "did not all run together",
    ),
    "slow requests left running": (
        "q1",
        """
async def users_within(session, url, ids, seconds):
    tasks = [asyncio.create_task(asynckit.fetch_json(session, f"{url}/users/{i}")) for i in ids]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    if pending:
        return None
    return [task.result() for task in tasks]
""",
        "left 1 task(s) running",
    ),
    "no deadline at all": (
        "q1",
        """
async def users_within(session, url, ids, seconds):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(asynckit.fetch_json(session, f"{url}/users/{i}")) for i in ids]
    return [task.result() for task in tasks]
""",
        "waited for the slow user",
    ),
    "the ones that made it": (
        "q1",
        """
async def users_within(session, url, ids, seconds):
    tasks = [asyncio.create_task(asynckit.fetch_json(session, f"{url}/users/{i}")) for i in ids]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    return [task.result() for task in tasks if task in done]
""",
        "not None",
    ),
    "stubborn": (
        "q2",
        """
async def careful(log):
    while True:
        try:
            await asyncio.sleep(0.1)
            log.append("tick")
        except asyncio.CancelledError:
            log.append("cleaned up")
""",
        "it caught the CancelledError and carried on",
    ),
    "cleans up, then swallows": (
        "q2",
        """
async def careful(log):
    try:
        while True:
            await asyncio.sleep(0.1)
            log.append("tick")
    except asyncio.CancelledError:
        log.append("cleaned up")
""",
        "it swallowed the CancelledError",
    ),
    "no cleanup": (
        "q2",
        """
async def careful(log):
    while True:
        await asyncio.sleep(0.1)
        log.append("tick")
""",
        "'cleaned up' was never appended",
    ),
    "waits for every runner": (
        "q3",
        """
async def runner(index, seconds):
    await asynckit.sleep(seconds)
    return index, seconds

async def race(delays):
    results = await asyncio.gather(*(runner(i, d) for i, d in enumerate(delays)))
    return min(results, key=lambda r: r[1])[0]
""",
        "runners ran to their end",
    ),
    "the winner's rivals left running": (
        "q3",
        """
async def runner(index, seconds):
    await asynckit.sleep(seconds)
    return index

async def race(delays):
    tasks = [asyncio.create_task(runner(i, d)) for i, d in enumerate(delays)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    return done.pop().result()
""",
        "left 2 task(s) running",
    ),
    "runners in turn": (
        "q3",
        """
async def race(delays):
    for i, d in enumerate(delays):
        await asynckit.sleep(d)
        return i
""",
        "one after another",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex05, answer, check_call(exercise, answer), says)

"""Wrong answers to 03's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex03

WRONG = {
    "move_on_after, silent": (
        "q1",
        """
async def sleeps_or_fail(delays, deadline):
    with trio.move_on_after(deadline):
        async with trio.open_nursery() as nursery:
            for d in delays:
                nursery.start_soon(asynckit.sleep, d)
    return "done"
""",
        "move_on_after moves on silently",
    ),
    "one sleep after another": (
        "q1",
        """
async def sleeps_or_fail(delays, deadline):
    try:
        with trio.fail_after(deadline):
            for d in delays:
                await asynckit.sleep(d)
    except trio.TooSlowError:
        return "too slow"
    return "done"
""",
        "one after another",
    ),
    "TooSlowError not caught": (
        "q1",
        """
async def sleeps_or_fail(delays, deadline):
    with trio.fail_after(deadline):
        async with trio.open_nursery() as nursery:
            for d in delays:
                nursery.start_soon(asynckit.sleep, d)
    return "done"
""",
        "let trio.TooSlowError out",
    ),
    "always too slow": (
        "q1",
        """
async def sleeps_or_fail(delays, deadline):
    with trio.move_on_after(deadline):
        async with trio.open_nursery() as nursery:
            for d in delays:
                nursery.start_soon(asynckit.sleep, d)
    return "too slow"
""",
        "a deadline that has not passed raises nothing",
    ),
    "raises the first entry, a TaskCancelled": (
        "q2",
        """
async def all_or_raise(functions):
    async with curio.TaskGroup() as g:
        for f in functions:
            await g.spawn(f)
    if any(g.exceptions):
        raise g.exceptions[0]
    return g.results
""",
        "curio.run raised TaskCancelled",
    ),
    "errors left in the group": (
        "q2",
        """
async def all_or_raise(functions):
    async with curio.TaskGroup() as g:
        tasks = [await g.spawn(f) for f in functions]
    return [task.result for task in tasks if task.exception is None]
""",
        "keeps errors in g.exceptions",
    ),
    "results in completion order": (
        "q2",
        """
async def all_or_raise(functions):
    results = []
    async with curio.TaskGroup() as g:
        for f in functions:
            await g.spawn(f)
        async for task in g:
            results.append(task.result)
    return results
""",
        "not the order they finished in",
    ),
    "one function after another": (
        "q2",
        """
async def all_or_raise(functions):
    return [await f() for f in functions]
""",
        "one after another",
    ),
    "asyncio's tools, asyncio only": (
        "q3",
        """
async def finished_within(delays, deadline):
    finished = []
    async def one(d):
        await asynckit.sleep(d)
        finished.append(d)
    try:
        async with asyncio.timeout(deadline), asyncio.TaskGroup() as tg:
            for d in delays:
                tg.create_task(one(d))
    except TimeoutError:
        pass
    return finished
""",
        "on the trio backend",
    ),
    "fail_after instead of move_on_after": (
        "q3",
        """
async def finished_within(delays, deadline):
    finished = []
    async def one(d):
        await asynckit.sleep(d)
        finished.append(d)
    with anyio.fail_after(deadline):
        async with anyio.create_task_group() as tg:
            for d in delays:
                tg.start_soon(one, d)
    return finished
""",
        "fail_after raises when time is up",
    ),
    "sleeps in turn": (
        "q3",
        """
async def finished_within(delays, deadline):
    finished = []
    with anyio.move_on_after(deadline):
        for d in delays:
            await asynckit.sleep(d)
            finished.append(d)
    return finished
""",
        "one after another",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex03, answer, check_call(exercise, answer), says)

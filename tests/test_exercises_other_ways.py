"""Right answers written otherwise than the solutions, as a learner might: each check passes
them, since each does what its exercise asks."""

from __future__ import annotations

import asyncio
from types import ModuleType

import pytest
from exercise_harness import check_call, run_check

from asynckit.exercises import ex00, ex03, ex05, ex06, ex07

OTHER_WAYS: dict[str, tuple[ModuleType, str, str]] = {
    "00 q3, an exact Fraction": (
        ex00,
        "q3",
        """
from fractions import Fraction

def ideal_speedup(delays):
    exact = [Fraction(str(d)) for d in delays]
    return sum(exact) / max(exact)
""",
    ),
    "03 q2, the results as a tuple": (
        ex03,
        "q2",
        """
async def all_or_raise(functions):
    async with curio.TaskGroup() as g:
        tasks = [await g.spawn(f) for f in functions]
    for task in tasks:
        if task.exception is not None and not isinstance(task.exception, curio.TaskCancelled):
            raise task.exception
    return tuple(task.result for task in tasks)
""",
    ),
    "05 q1, the users as a tuple": (
        ex05,
        "q1",
        """
async def users_within(session, base_url, ids, seconds):
    try:
        async with asyncio.timeout(seconds):
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(asynckit.fetch_json(session, f"{base_url}/users/{i}"))
                         for i in ids]
    except TimeoutError:
        return None
    return tuple(task.result() for task in tasks)
""",
    ),
    "06 q2, session.get instead of fetch_json": (
        ex06,
        "q2",
        """
async def fetch_limited(session, urls, rate, limit):
    pacer, permits = Pacer(rate), asyncio.Semaphore(limit)

    async def one(url):
        await pacer.wait()
        async with permits, session.get(url) as response:
            response.raise_for_status()
            return await response.json()

    return await asyncio.gather(*(one(url) for url in urls))
""",
    ),
    "07 q1, loop.run_in_executor": (
        ex07,
        "q1",
        """
async def resize_all(resize, items):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(None, resize, i) for i in items))
""",
    ),
    "07 q1, a thread pool of one's own": (
        ex07,
        "q1",
        """
from concurrent.futures import ThreadPoolExecutor

async def resize_all(resize, items):
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, resize, i) for i in items))
""",
    ),
}


@pytest.mark.parametrize(
    ("module", "exercise", "answer"), OTHER_WAYS.values(), ids=OTHER_WAYS.keys()
)
def test_a_right_answer_written_otherwise_passes(module: ModuleType, exercise: str, answer: str):
    verdict = asyncio.run(run_check(module, answer, check_call(exercise, answer)))
    assert verdict.passed, str(verdict)

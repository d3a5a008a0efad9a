"""Wrong answers to 07's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import asyncio
import multiprocessing

import pytest
from exercise_harness import assert_fails_saying, run_check

from asynckit.exercises import ex07

WRONG = {
    "blocking in the loop": (
        "q1",
        "resize_all",
        """
async def resize_all(resize, items):
    return [resize(item) for item in items]
""",
        "froze every task",
    ),
    "threads one after another": (
        "q1",
        "resize_all",
        """
async def resize_all(resize, items):
    return [await asyncio.to_thread(resize, item) for item in items]
""",
        "one after another",
    ),
    "computed in the notebook": (
        "q2",
        "sums_in_processes",
        """
async def sums_in_processes(pool, sizes):
    return [sum(range(n)) for n in sizes]
""",
        "no job reached the process pool",
    ),
    "a lambda": (
        "q2",
        "sums_in_processes",
        """
async def sums_in_processes(pool, sizes):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, lambda n=n: sum(range(n)))
                                  for n in sizes))
""",
        "a function defined in the notebook",
    ),
    "processes one after another": (
        "q2",
        "sums_in_processes",
        """
async def sums_in_processes(pool, sizes):
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(pool, sum, range(n)) for n in sizes]
""",
        "never more than one at a time",
    ),
    "no limit": (
        "q3",
        "count_lines",
        """
async def count_lines(paths, limit=20):
    async def lines_in(path):
        async with aiofiles.open(path) as f:
            return (await f.read()).count("\\n")
    return sum(await asyncio.gather(*(lines_in(p) for p in paths)))
""",
        "files were open at once",
    ),
    "limit ignored": (
        "q3",
        "count_lines",
        """
async def count_lines(paths, limit=20):
    gate = asyncio.Semaphore(20)
    async def lines_in(path):
        async with gate, aiofiles.open(path) as f:
            return (await f.read()).count("\\n")
    return sum(await asyncio.gather(*(lines_in(p) for p in paths)))
""",
        "use the limit argument",
    ),
    "files left open": (
        "q3",
        "count_lines",
        """
async def count_lines(paths, limit=20):
    gate = asyncio.Semaphore(limit)
    async def lines_in(path):
        async with gate:
            f = await aiofiles.open(path)
            return (await f.read()).count("\\n")
    return sum(await asyncio.gather(*(lines_in(p) for p in paths)))
""",
        "still open",
    ),
}


@pytest.mark.parametrize(("exercise", "entry", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, entry: str, answer: str, says: str):
    assert_fails_saying(ex07, answer, f"await ex.{exercise}.check({entry})", says)


def test_the_process_check_leaves_no_worker_process_behind() -> None:
    before = set(multiprocessing.active_children())
    solution = ex07.q2.solution_source
    verdict = asyncio.run(run_check(ex07, solution, "await ex.q2.check(sums_in_processes)"))
    assert verdict.passed, str(verdict)
    assert set(multiprocessing.active_children()) <= before

"""Wrong answers to 08's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import asyncio

import pytest
from exercise_harness import assert_fails_saying, run_check

from asynckit.exercises import ex08

SPAWN_CHECK = "await ex.q2.check(spawn, spawned, failures)"

WRONG = {
    "threshold left lowered": (
        "await ex.q1.check(slow_steps)",
        """
async def slow_steps(job, threshold):
    asyncio.get_running_loop().slow_callback_duration = threshold
    async with debug_mode() as log:
        await asyncio.create_task(job(), name="job")
    return slow_tasks(log)
""",
        "put the settings back",
    ),
    "threshold never set": (
        "await ex.q1.check(slow_steps)",
        """
async def slow_steps(job, threshold):
    async with debug_mode() as log:
        await asyncio.create_task(job(), name="job")
    return slow_tasks(log)
""",
        "reported 0 slow step(s)",
    ),
    "no reference kept": (
        SPAWN_CHECK,
        """
spawned, failures = set(), []

def spawn(coro, *, name=None):
    return asyncio.create_task(coro, name=name)
""",
        "garbage-collected while it waited",
    ),
    "kept forever": (
        SPAWN_CHECK,
        """
spawned, failures = set(), []

def spawn(coro, *, name=None):
    task = asyncio.create_task(coro, name=name)
    spawned.add(task)
    return task
""",
        "still holds 3 finished task(s)",
    ),
    "cancelled task asked for its exception": (
        SPAWN_CHECK,
        """
spawned, failures = set(), []

def on_done(task):
    spawned.discard(task)
    if task.exception() is not None:
        failures.append((task.get_name(), task.exception()))

def spawn(coro, *, name=None):
    task = asyncio.create_task(coro, name=name)
    spawned.add(task)
    task.add_done_callback(on_done)
    return task
""",
        "ask task.cancelled() first",
    ),
    "exception never retrieved": (
        SPAWN_CHECK,
        """
spawned, failures = set(), []

def spawn(coro, *, name=None):
    task = asyncio.create_task(coro, name=name)
    spawned.add(task)
    task.add_done_callback(spawned.discard)
    return task
""",
        "never retrieved",
    ),
    "waits for everything": (
        "await ex.q3.check(hanging)",
        """
async def hanging(tasks, timeout):
    await asyncio.gather(*tasks)
    return []
""",
        "had not returned 2 s after its timeout",
    ),
    "wait_for cancels": (
        "await ex.q3.check(hanging)",
        """
async def hanging(tasks, timeout):
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    return sorted((t.get_name(), t.get_coro().__qualname__) for t in tasks if not t.done())
""",
        "cancelled job-1, job-3, job-4",
    ),
    "outermost coroutine": (
        "await ex.q3.check(hanging)",
        """
async def hanging(tasks, timeout):
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    return sorted((t.get_name(), t.get_coro().cr_await.__qualname__) for t in pending)
""",
        "follow cr_await",
    ),
}


@pytest.mark.parametrize(("check", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(check: str, answer: str, says: str) -> None:
    assert_fails_saying(ex08, answer, check, says)


def test_the_checks_put_the_loop_back_as_it_was() -> None:
    async def main() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        await run_check(ex08, WRONG["threshold left lowered"][1], "await ex.q1.check(slow_steps)")
        return loop.slow_callback_duration, loop.get_debug()

    assert asyncio.run(main()) == (0.1, False)

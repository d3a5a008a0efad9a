"""Wrong answers to 00's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying, check_call

from asynckit.exercises import ex00

WRONG = {
    "one after another": (
        "q1",
        """
async def five_naps():
    for _ in range(5):
        await asynckit.sleep(0.1)
""",
        "one after another",
    ),
    "started, never awaited": (
        "q1",
        """
async def five_naps():
    for _ in range(5):
        asyncio.create_task(asynckit.sleep(0.1))
""",
        "did not wait for them",
    ),
    "asyncio.sleep, unseen": (
        "q1",
        """
async def five_naps():
    await asyncio.gather(*(asyncio.sleep(0.1) for _ in range(5)))
""",
        "recorded no asynckit.sleep",
    ),
    "a new loop": (
        "q2",
        """
async def which_loop():
    return asyncio.new_event_loop()
""",
        "not the one running this notebook",
    ),
    "the function, not its result": (
        "q2",
        """
async def which_loop():
    return asyncio.get_running_loop
""",
        "call it",
    ),
    "the number of waits": (
        "q3",
        """
def ideal_speedup(delays):
    return len(delays)
""",
        "the number of waits",
    ),
    "upside down": (
        "q3",
        """
def ideal_speedup(delays):
    return max(delays) / sum(delays)
""",
        "upside down",
    ),
    "the shortest wait": (
        "q3",
        """
def ideal_speedup(delays):
    return sum(delays) / min(delays)
""",
        "not its shortest",
    ),
}


@pytest.mark.parametrize(("exercise", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, answer: str, says: str) -> None:
    assert_fails_saying(ex00, answer, check_call(exercise, answer), says)

"""Wrong answers to 00's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import asyncio

import pytest
from exercise_harness import run_check

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
    verdict = asyncio.run(run_check(ex00, answer, f"await ex.{exercise}.check({_entry(answer)})"))
    assert not verdict.passed, str(verdict)
    assert says in verdict.message, str(verdict)


def _entry(answer: str) -> str:
    """The function the check takes: the last one the answer defines at the top level."""
    tops = [line for line in answer.splitlines() if line.startswith(("def ", "async def "))]
    return tops[-1].split("def ", 1)[1].split("(", 1)[0]

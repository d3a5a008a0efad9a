"""Exercises of 00 Start here: run async code inside Jupyter's event loop."""

from __future__ import annotations

import asyncio
import math
import numbers
from decimal import Decimal
from typing import Any

from .. import Timeline, compare, run, sleep
from ._exercise import Exercise, Mistake, function, left_running, peak_overlap

__all__ = ["q1", "q2", "q3"]

q1 = Exercise(
    "q1",
    "Five waits at once",
    hint="""
        Five `asynckit.sleep(0.1)` coroutines handed to one `asyncio.gather(...)` run at the
        same time (`*` unpacks a generator into arguments). Await the `gather`, so that
        `five_naps()` returns only when all five are done.
    """,
    solution="""
        async def five_naps():
            await asyncio.gather(*(asynckit.sleep(0.1) for _ in range(5)))
    """,
)


@q1.checks
async def _five_naps(five_naps: Any) -> str:
    five_naps = function(five_naps, "five_naps")
    before = asyncio.all_tasks()
    with Timeline() as tl:
        await five_naps()
    still_running = await left_running(before)
    if still_running:
        raise Mistake(
            f"five_naps() returned while {len(still_running)} task(s) were still running: "
            "it started the naps but did not wait for them; await them (gather waits for all)"
        )
    sleeps = [s for s in tl.spans if s.kind == "sleep"]
    if not sleeps:
        raise Mistake(
            "the timeline recorded no asynckit.sleep(...) while five_naps() ran: it should "
            "await five `asynckit.sleep(0.1)` (asyncio.sleep waits the same, but leaves no trace)"
        )
    if len(sleeps) != 5:
        raise Mistake(
            f"the timeline recorded {len(sleeps)} asynckit.sleep(...) where 5 were asked for: "
            "each nap should be an `asynckit.sleep(0.1)` (asyncio.sleep leaves no trace on it)"
        )
    at_once = peak_overlap(sleeps)
    if at_once < 5:
        raise Mistake(
            f"five_naps() took {tl.duration:.2f} s: at most {at_once} of the 5 naps waited at "
            "the same time, so they ran one after another; start all five before waiting for "
            "any"
        )
    return f"5 naps of 0.1 s, all waiting at once: {tl.duration:.2f} s in all, not 0.5 s"


q2 = Exercise(
    "q2",
    "Which loop ran it?",
    hint="""
        Inside a coroutine, `asyncio.get_running_loop()` returns the loop that is running it.
        Return that (the loop itself, not the function that finds it).
    """,
    solution="""
        async def which_loop():
            return asyncio.get_running_loop()
    """,
)


@q2.checks
async def _which_loop(which_loop: Any) -> str:
    which_loop = function(which_loop, "which_loop")
    notebook_loop = asyncio.get_running_loop()
    here = await which_loop()
    _must_be_a_loop(here, "await which_loop()")
    if here is not notebook_loop:
        _close_if_idle(here)
        raise Mistake(
            "await which_loop() returned a loop that is not the one running this notebook: "
            "ask for the loop that runs the coroutine, asyncio.get_running_loop(), rather than "
            "making a new one"
        )
    elsewhere = run(which_loop())
    _must_be_a_loop(elsewhere, "asynckit.run(which_loop())")
    if elsewhere is notebook_loop:
        raise Mistake(
            "asynckit.run(which_loop()) returned the notebook's loop: return the loop running "
            "the coroutine, which asynckit.run makes anew in a worker thread"
        )
    return (
        "await which_loop() ran on the notebook's own loop, and asynckit.run(which_loop()) on "
        "another one, made in a worker thread for that call"
    )


def _must_be_a_loop(value: object, call: str) -> None:
    if value is None:
        raise Mistake(f"{call} returned None: return the event loop the coroutine runs on")
    if callable(value) and not isinstance(value, asyncio.AbstractEventLoop):
        raise Mistake(
            f"{call} returned the function {getattr(value, '__name__', value)!r}, not a loop: "
            "call it, and return what it gives"
        )
    if not isinstance(value, asyncio.AbstractEventLoop):
        raise Mistake(f"{call} returned a {type(value).__name__}, not an event loop")


def _close_if_idle(loop: asyncio.AbstractEventLoop) -> None:
    """Close a loop the answer made and never ran, so the check leaves nothing open."""
    if not loop.is_running() and not loop.is_closed():
        loop.close()


q3 = Exercise(
    "q3",
    "Predict the ideal",
    hint="""
        Sequentially the waits add up; concurrently the run cannot end before its longest
        wait does. The ideal speedup is the first over the second: `sum(...)` and `max(...)`.
    """,
    solution="""
        def ideal_speedup(delays):
            return sum(delays) / max(delays)
    """,
)

#: Batches to predict, with the ideal speedup of each.
PREDICTIONS = [
    ([0.05, 0.1, 0.15, 0.2], 2.5),
    ([0.1, 0.1, 0.1, 0.1], 4.0),
    ([0.3], 1.0),
    ([0.2, 0.05, 0.05], 1.5),
]


@q3.checks
async def _ideal_speedup(ideal_speedup: Any) -> str:
    ideal_speedup = function(ideal_speedup, "ideal_speedup", coroutine=False)
    for delays, ideal in PREDICTIONS:
        predicted = ideal_speedup(list(delays))
        if predicted is None:
            raise Mistake("ideal_speedup(delays) returned None: return the speedup, a number")
        if isinstance(predicted, bool) or not isinstance(predicted, numbers.Real | Decimal):
            raise Mistake(
                f"ideal_speedup({delays}) returned a {type(predicted).__name__}, not a number"
            )
        predicted = float(predicted)
        if not math.isclose(predicted, ideal, rel_tol=0.01):
            raise Mistake(
                f"ideal_speedup({delays}) returned {predicted:.2f}, where the ideal is "
                f"{ideal:.2f}x: {_why(delays, predicted)}"
            )
    delays = PREDICTIONS[0][0]
    measured = await compare(lambda: [sleep(d) for d in delays])
    return (
        f"your predictions match; for {delays} you predicted "
        f"{float(ideal_speedup(list(delays))):.1f}x, "
        f"and compare measured {measured.speedup:.1f}x"
    )


def _why(delays: list[float], predicted: float) -> str:
    """What a wrong prediction probably did."""
    total, longest = sum(delays), max(delays)
    if math.isclose(predicted, len(delays), rel_tol=0.01):
        return (
            "that is the number of waits, right only when they are all equally long; the "
            "concurrent run lasts as long as its longest wait"
        )
    if math.isclose(predicted, longest / total, rel_tol=0.01):
        return "that is upside down: the speedup is sequential time over concurrent time"
    if math.isclose(predicted, total / min(delays), rel_tol=0.01):
        return "the concurrent run lasts as long as its longest wait, not its shortest"
    return (
        f"sequentially the waits add up to {total:.2f} s; concurrently the run lasts as long as "
        "its longest wait"
    )

"""Exercises of 03 Run the same work on asyncio, Trio and Curio.

Trio, Curio and AnyIO's Trio backend each run in a worker thread of their own, as in the
notebook (``await asyncio.to_thread(trio.run, ...)``), so the check's asyncio loop keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import anyio
import curio
import trio

from .. import Span, Timeline
from ._exercise import Exercise, Mistake, _describe, function, peak_overlap

__all__ = ["GIVEN", "q1", "q2", "q3"]

#: What the notebook's setup cell imports before the exercises.
GIVEN: dict[str, Any] = {"anyio": anyio, "curio": curio, "trio": trio}


def _sleeps(tl: Timeline) -> list[Span]:
    return [s for s in tl.spans if s.kind == "sleep"]


def _seconds(span: Span) -> str:
    return f"{span.duration:.2f} s"


q1 = Exercise(
    "q1",
    "Fail instead of moving on",
    hint="""
        Open `with trio.fail_after(deadline):` around `async with trio.open_nursery() as
        nursery:`, and `nursery.start_soon(asynckit.sleep, d)` for each delay. Wrap the whole
        `with` in `try:` / `except trio.TooSlowError:` and return `"too slow"` there; after the
        `try`, return `"done"`.
    """,
    solution="""
        async def sleeps_or_fail(delays, deadline):
            try:
                with trio.fail_after(deadline):
                    async with trio.open_nursery() as nursery:
                        for d in delays:
                            nursery.start_soon(asynckit.sleep, d)
            except trio.TooSlowError:
                return "too slow"
            return "done"
    """,
)


@q1.checks
async def _sleeps_or_fail(answer: Any) -> str:
    sleeps_or_fail = function(answer, "sleeps_or_fail")
    quick, slow = ((0.05, 0.1), 0.6), ((0.05, 0.6, 0.8), 0.3)
    outcomes, timelines = [], []
    for delays, deadline in (quick, slow):
        with Timeline() as tl:
            try:
                outcomes.append(await asyncio.to_thread(trio.run, sleeps_or_fail, delays, deadline))
            except trio.TooSlowError:
                raise Mistake(
                    f"sleeps_or_fail({delays}, {deadline}) let trio.TooSlowError out: catch it "
                    '(try: ... except trio.TooSlowError:) and return "too slow"'
                ) from None
        timelines.append(tl)
        sleeps = _sleeps(tl)
        if not sleeps:
            raise Mistake(
                f"sleeps_or_fail({delays}, {deadline}) ran no asynckit.sleep(...): start one "
                "asynckit.sleep(d) per delay in a nursery"
            )
        if peak_overlap(sleeps) < 2:
            raise Mistake(
                f"with delays {delays}, at most one sleep ran at a time: they ran one after "
                "another; start them all in a nursery (nursery.start_soon) so they wait together"
            )
    if outcomes[0] != "done":
        raise Mistake(
            f"sleeps_or_fail({quick[0]}, {quick[1]}) returned {outcomes[0]!r}, not 'done': every "
            "sleep finished long before the deadline, and a deadline that has not passed raises "
            "nothing"
        )
    cancelled = [s for s in _sleeps(timelines[1]) if s.error == "cancelled"]
    if outcomes[1] != "too slow":
        if cancelled:
            raise Mistake(
                f"sleeps_or_fail({slow[0]}, {slow[1]}) returned {outcomes[1]!r}: the deadline "
                f"fired and cancelled {len(cancelled)} sleeps, but nothing said so. "
                "move_on_after moves on silently; fail_after raises trio.TooSlowError: catch it "
                'and return "too slow"'
            )
        raise Mistake(
            f"sleeps_or_fail({slow[0]}, {slow[1]}) returned {outcomes[1]!r} and no sleep was "
            "cancelled: the 0.6 s and 0.8 s sleeps ran to their end past the 0.3 s deadline. "
            "Put the nursery inside `with trio.fail_after(deadline):`"
        )
    if len(cancelled) != 2:
        raise Mistake(
            f"with delays {slow[0]} and a {slow[1]} s deadline, {len(cancelled)} sleeps were "
            "cancelled, not 2 (the 0.6 s and the 0.8 s ones)"
        )
    return (
        f"'done' when the sleeps finished in time, 'too slow' after {timelines[1].elapsed:.2f} s "
        "when the 0.3 s deadline cancelled the two long sleeps"
    )


q2 = Exercise(
    "q2",
    "Make Curio's task group raise",
    hint="""
        Spawn each function with `await g.spawn(f)` inside `async with curio.TaskGroup() as g:`
        and keep the tasks. After the block, `g.exceptions` holds one entry per task: `None`
        for a task that finished, a `curio.TaskCancelled` for a sibling the group cancelled, and
        the real error. Raise the first entry that is an `Exception` (TaskCancelled is not);
        otherwise return `[task.result for task in tasks]`.
    """,
    solution="""
        async def all_or_raise(functions):
            async with curio.TaskGroup() as g:
                tasks = [await g.spawn(f) for f in functions]
            errors = [e for e in g.exceptions if isinstance(e, Exception)]
            if errors:
                raise errors[0]
            return [task.result for task in tasks]
    """,
)


@q2.checks
async def _all_or_raise(answer: Any) -> str:
    all_or_raise = function(answer, "all_or_raise")

    def returns(value: str, seconds: float) -> Any:
        async def function() -> str:
            await _sleep(seconds, f"{value}: {seconds} s")
            return value

        return function

    async def fails() -> None:
        await _sleep(0.05, "fails after 0.05 s")
        raise ValueError("boom")

    with _quiet_curio(), Timeline() as fine:
        results = await asyncio.to_thread(
            curio.run, all_or_raise, [returns("x", 0.1), returns("y", 0.05)]
        )
    sleeps = _sleeps(fine)
    if len(sleeps) < 2:
        raise Mistake(
            f"all_or_raise ran {len(sleeps)} of the 2 functions it was given: spawn each one "
            "into the group with `await g.spawn(f)`"
        )
    if peak_overlap(sleeps) < 2:
        raise Mistake(
            "the two functions ran one after another: spawn them all into the TaskGroup "
            "before the block ends, so they run together"
        )
    if isinstance(results, tuple):  # the statement asks for the results, not a list
        results = list(results)
    if results != ["x", "y"]:
        order = (
            ": return them in the order of the functions (task.result, or g.results), not the "
            "order they finished in"
            if isinstance(results, list) and sorted(results) == ["x", "y"]
            else ": return the list of their results, in the order of the functions"
        )
        raise Mistake(
            f"with two functions returning 'x' (after 0.1 s) and 'y' (after 0.05 s), "
            f"all_or_raise returned {results!r}, not ['x', 'y']{order}"
        )
    with _quiet_curio(), Timeline() as failing:
        try:
            got = await asyncio.to_thread(
                curio.run, all_or_raise, [returns("a", 0.6), fails, returns("b", 0.4)]
            )
        except ValueError as error:
            got = error
        except curio.TaskCancelled:
            raise Mistake(
                "curio.run raised TaskCancelled: that is how a sibling ended when the group "
                "cancelled it, not the error that started it all. Skip the TaskCancelled entries "
                "(and the None of tasks that finished) in g.exceptions, and raise the ValueError"
            ) from None
    siblings = [s for s in _sleeps(failing) if s.label[0] in "ab"]
    if not isinstance(got, ValueError):
        raise Mistake(
            f"one function raised ValueError('boom') after 0.05 s, but all_or_raise returned "
            f"{got!r}: Curio's TaskGroup keeps errors in g.exceptions instead of raising them. "
            "Raise the first real one after the block, as asyncio and Trio would"
        )
    ran_on = [s for s in siblings if s.error is None]
    if ran_on:
        raise Mistake(
            f"the ValueError came out, but only after the siblings ran to their end "
            f"({', '.join(_seconds(s) for s in ran_on)}): let the TaskGroup cancel them "
            "(the default), and raise after the block"
        )
    return (
        "['x', 'y'] in the order of the functions, and the ValueError raised after the group "
        "cancelled both siblings at 0.05 s"
    )


@contextlib.contextmanager
def _quiet_curio() -> Iterator[None]:
    """Curio logs the traceback of every task that crashes; the check reads the errors itself."""
    logger = logging.getLogger("curio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _sleep(seconds: float, label: str) -> None:
    from .. import sleep

    await sleep(seconds, label=label)


q3 = Exercise(
    "q3",
    "One deadline, two backends",
    hint="""
        Use AnyIO's own tools, which run on both backends: `with anyio.move_on_after(deadline):`
        around `async with anyio.create_task_group() as tg:`, and `tg.start_soon(one, d)` for a
        small `async def one(d)` that sleeps `d` with `asynckit.sleep` and then appends `d` to
        a list. Return the list after the `with`.
    """,
    solution="""
        async def finished_within(delays, deadline):
            finished = []

            async def one(d):
                await asynckit.sleep(d)
                finished.append(d)

            with anyio.move_on_after(deadline):
                async with anyio.create_task_group() as tg:
                    for d in delays:
                        tg.start_soon(one, d)
            return finished
    """,
)


@q3.checks
async def _finished_within(answer: Any) -> str:
    finished_within = function(answer, "finished_within")
    delays, deadline, expected = (0.05, 0.6, 0.1, 0.8), 0.3, [0.05, 0.1]
    for backend in ("asyncio", "trio"):
        with Timeline() as tl:
            try:
                got = await asyncio.to_thread(
                    anyio.run, finished_within, delays, deadline, backend=backend
                )
            except Exception as error:
                advice = (
                    ": asyncio's own TaskGroup, timeout and gather work only on asyncio; use "
                    "anyio.create_task_group() and anyio.move_on_after(), which run on both"
                    if backend == "trio"
                    else ""
                )
                if isinstance(error, TimeoutError):
                    advice = ": fail_after raises when time is up; move_on_after moves on"
                raise Mistake(f"on the {backend} backend, {_describe(error)}{advice}") from None
        sleeps = _sleeps(tl)
        if not sleeps:
            raise Mistake(
                f"on the {backend} backend no asynckit.sleep(...) ran: start one per delay"
            )
        if peak_overlap(sleeps) < 2:
            raise Mistake(
                f"on the {backend} backend the sleeps ran one after another (at most one at a "
                "time on the timeline): start each in the task group with tg.start_soon"
            )
        late = [s for s in sleeps if s.error is None and s.end > deadline + 0.15]
        if late:
            raise Mistake(
                f"on the {backend} backend {len(late)} sleep(s) ran past the {deadline} s "
                "deadline to their end: put the task group inside anyio.move_on_after(deadline)"
            )
        if got is None or sorted(got) != expected:
            raise Mistake(
                f"on the {backend} backend, finished_within({delays}, {deadline}) returned "
                f"{got!r}, not {expected}: return the delays whose sleep finished in time"
            )
    return (
        f"{expected} on asyncio and on Trio: the same AnyIO function, the 0.6 s and 0.8 s "
        "sleeps cancelled at the deadline on both"
    )

"""Exercises of 01 Run coroutines together with gather."""

from __future__ import annotations

import gc
import warnings
from typing import Any

from .. import Timeline
from ._exercise import Exercise, Mistake, function, peak_overlap

__all__ = ["q1", "q2", "q3"]

q1 = Exercise(
    "q1",
    "Greet everyone at once",
    hint="""
        `greet_all` needs one `hello(name)` coroutine per name, all handed to a single
        `asyncio.gather(...)` (unpack a generator with `*`). `gather` returns the results in
        the order of its arguments, so return what it returns.
    """,
    solution="""
        async def hello(name):
            await asynckit.sleep(0.1, label=name)
            return f"Hello, {name}"

        async def greet_all(names):
            return await asyncio.gather(*(hello(name) for name in names))
    """,
)

NAMES = ["Ada", "Grace", "Linus", "Guido"]


@q1.checks
async def _greet_all(greet_all: Any) -> str:
    greet_all = function(greet_all, "greet_all")
    with Timeline() as tl:
        greetings = await greet_all(NAMES)
    if greetings is None:
        raise Mistake("greet_all(names) returned None: return the list of greetings")
    expected = [f"Hello, {name}" for name in NAMES]
    if isinstance(greetings, tuple | list) and sorted(greetings) == sorted(expected):
        if list(greetings) != expected:
            raise Mistake(
                f"the greetings came back as {list(greetings)}, not in the order of the names: "
                "gather keeps the order of its arguments, as_completed does not"
            )
    elif greetings != expected:
        raise Mistake(f"greet_all({NAMES}) returned {greetings!r}, not {expected!r}")
    sleeps = [s for s in tl.spans if s.kind == "sleep"]
    if len(sleeps) != len(NAMES):
        raise Mistake(
            f"the timeline recorded {len(sleeps)} asynckit.sleep(...) for {len(NAMES)} names: "
            "each hello(name) should wait with `await asynckit.sleep(0.1)`"
        )
    at_once = peak_overlap(sleeps)
    if at_once < len(NAMES):
        raise Mistake(
            f"your greet_all took {tl.duration:.2f} s: at most {at_once} of the "
            f"{len(NAMES)} greetings waited at the same time, so they ran one after another; "
            "start them all before waiting for any"
        )
    return f"{len(NAMES)} greetings in order, all waiting at once: {tl.duration:.2f} s in all"


q2 = Exercise(
    "q2",
    "The fastest one wins",
    hint="""
        Wrap each job in a task with `asyncio.create_task`, then `asyncio.wait(tasks,
        return_when=asyncio.FIRST_COMPLETED)`: it returns `(done, pending)`. Take the result of
        the one done task, and `cancel()` each pending one before you return.
    """,
    solution="""
        async def job(index, delay):
            await asynckit.sleep(delay)
            return index

        async def fastest(delays):
            tasks = [asyncio.create_task(job(i, delay)) for i, delay in enumerate(delays)]
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()                # the losers: nobody needs them any more
            return done.pop().result()
    """,
)


@q2.checks
async def _fastest(fastest: Any) -> str:
    fastest = function(fastest, "fastest")
    delays = [0.6, 0.05, 0.3]
    with Timeline() as tl:
        winner = await fastest(delays)
    if winner is None:
        raise Mistake("fastest(delays) returned None: return the index of the first job to finish")
    if winner != 1:
        raise Mistake(f"fastest({delays}) returned {winner!r}, not 1 (the index of 0.05 s)")
    sleeps = [s for s in tl.spans if s.kind == "sleep"]
    if not sleeps:
        raise Mistake("the timeline recorded no sleep: each job should await asynckit.sleep(delay)")
    finished = sorted(round(s.duration, 1) for s in sleeps if s.error is None)
    if len(finished) > 1:
        raise Mistake(
            f"fastest() returned after {tl.elapsed:.2f} s: it waited for {len(finished)} jobs "
            "to finish, not just the first; return as soon as one is done, and cancel the rest"
        )
    return "fastest() returned 1 as soon as the 0.05 s job finished, and the others were cancelled"


q3 = Exercise(
    "q3",
    "Find the missing await",
    hint="""
        `asynckit.sleep(0.05)` on its own makes a coroutine object and drops it: nothing
        sleeps. What does a coroutine need to run?
    """,
    solution="""
        async def count_down(log):
            for i in (3, 2, 1):
                log.append(i)
                await asynckit.sleep(0.05)
    """,
)


@q3.checks
async def _count_down(count_down: Any) -> str:
    count_down = function(count_down, "count_down")
    log: list[Any] = []
    with warnings.catch_warnings(record=True) as caught, Timeline() as tl:
        warnings.simplefilter("always")
        await count_down(log)
        gc.collect()  # a dropped coroutine warns when it is collected
    if log != [3, 2, 1]:
        raise Mistake(f"count_down(log) left log as {log}, not [3, 2, 1]")
    never_awaited = [w for w in caught if "never awaited" in str(w.message)]
    sleeps = [s for s in tl.spans if s.kind == "sleep"]
    if not never_awaited and not sleeps and tl.elapsed >= 0.1:
        raise Mistake(
            f"count_down waited {tl.elapsed:.2f} s, but with a sleep the check cannot see: "
            "await asynckit.sleep(0.05) itself (asyncio.sleep waits the same, but leaves no trace)"
        )
    if never_awaited or len(sleeps) < 3:
        raise Mistake(
            f"{len(sleeps)} of the 3 sleeps ran"
            + (f" and Python warned: {never_awaited[0].message}" if never_awaited else "")
            + ": a coroutine runs only when awaited"
        )
    if peak_overlap(sleeps) > 1:
        raise Mistake("the sleeps overlapped: a countdown waits after each number, in turn")
    return f"3, 2, 1 with a 0.05 s wait after each: {tl.duration:.2f} s in all"

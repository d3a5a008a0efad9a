"""Exercises of 05 Cancel work cleanly with task groups and timeouts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .. import Timeline
from ._exercise import (
    Exercise,
    Mistake,
    function,
    left_running,
    local_api,
    peak_overlap,
)

__all__ = ["q1", "q2", "q3"]


async def _none_left_running(before: set[asyncio.Task[Any]], what: str) -> None:
    """A :class:`Mistake` if tasks started since ``before`` still run (they are cancelled
    first): judged here, while the check's session is open and their work still pending."""
    running = await left_running(before)
    if running:
        raise Mistake(
            f"{what}, but left {len(running)} task(s) running ({', '.join(running[:5])}) that "
            "nobody waits for any more: cancel them before returning (a TaskGroup does it for you)"
        )


q1 = Exercise(
    "q1",
    "All the users, or none within a deadline",
    hint="""
        Put `asyncio.timeout(seconds)` and a `TaskGroup` in one `async with`, and create one
        task per id in it (`asynckit.fetch_json(session, f"{url}/users/{i}")`). Catch
        `TimeoutError` outside the block and return `None`; after the block, return
        `[task.result() for task in tasks]`.
    """,
    solution="""
        async def users_within(session, url, ids, seconds):
            try:
                async with asyncio.timeout(seconds), asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(asynckit.fetch_json(session, f"{url}/users/{i}"))
                             for i in ids]
            except TimeoutError:
                return None
            return [task.result() for task in tasks]
    """,
)


@q1.checks
async def _users_within(answer: Any) -> str:
    import aiohttp

    users_within = function(answer, "users_within")
    api = local_api(latency=0.1)
    async with aiohttp.ClientSession() as session:
        users = await users_within(session, api.url, [1, 2, 3], 1.0)
        peak = api.stats()["peak_in_flight"]
        ids = (
            [u.get("id") if isinstance(u, dict) else u for u in users]
            if isinstance(users, list | tuple)
            else None
        )
        if ids != [1, 2, 3]:
            raise Mistake(
                f"users_within(session, url, [1, 2, 3], 1.0) returned {users!r}: expected the "
                "three users, in the order of the ids"
            )
        if peak < 3:
            raise Mistake(
                f"the server had at most {peak} of the 3 requests in flight at once, so they did "
                "not all run together. Start one task per id, then wait for them together"
            )
        started, before = time.perf_counter(), asyncio.all_tasks()
        slow = await users_within(session, api.url, [1, "4?delay=1", 3], 0.3)
        took = time.perf_counter() - started
        await _none_left_running(before, f"with a slow user, users_within returned {slow!r}")
    if took > 0.8:
        raise Mistake(
            f"with a user that takes 1 s and a 0.3 s deadline, users_within returned after "
            f"{took:.2f} s: it waited for the slow user instead of giving up at the deadline"
        )
    if slow is not None:
        raise Mistake(
            f"with a user that takes 1 s and a 0.3 s deadline, users_within returned {slow!r}, "
            "not None: when not all users arrive in time, return None"
        )
    return (
        f"three users in order, all 3 requests in flight at once; None after {took:.2f} s when "
        "one user was too slow, with nothing left running"
    )


class _StillGoing(BaseException):
    """Raised into an answer that goes on working long after it was cancelled."""


class _Log(list[str]):
    """The log handed to the learner's worker: appending long after the deadline stops it."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.stop_after = time.perf_counter() + deadline + 0.3

    def append(self, item: str) -> None:
        super().append(item)
        if time.perf_counter() > self.stop_after:
            raise _StillGoing


q2 = Exercise(
    "q2",
    "Clean up, and let the cancellation go on",
    hint="""
        Put the whole `while True:` loop inside `try:`, and append `"cleaned up"` in a
        `finally:` block. A `finally` runs when the `CancelledError` passes through, and lets
        it go on; an `except asyncio.CancelledError:` would stop it, unless it ends with `raise`.
    """,
    solution="""
        async def careful(log):
            try:
                while True:
                    await asyncio.sleep(0.1)
                    log.append("tick")
            finally:
                log.append("cleaned up")
    """,
)


@q2.checks
async def _careful(answer: Any) -> str:
    careful = function(answer, "careful")
    deadline = 0.35
    log = _Log(deadline)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline):
            await careful(log)
        outcome = "returned"
    except TimeoutError:
        outcome = "timeout"
    except _StillGoing:
        outcome = "went on"
    took = time.perf_counter() - started
    entries = list(log)
    if outcome == "went on":
        raise Mistake(
            f"the timeout cancelled careful() at {deadline} s, but it went on: its log reads "
            f"{entries[:6]}{' ...' if len(entries) > 6 else ''}: it caught the CancelledError "
            "and carried on; append 'cleaned up' and let the cancellation go on (re-raise it, "
            "or clean up in finally)"
        )
    if outcome == "returned" and took < deadline:
        raise Mistake(
            f"careful(log) returned after {took:.2f} s with log {entries}: it should tick every "
            "0.1 s, forever, until a cancellation stops it"
        )
    if outcome == "returned":
        raise Mistake(
            f"the timeout cancelled careful() and its log reads {entries}, but then it returned "
            "normally, so no TimeoutError reached the caller: it swallowed the CancelledError. "
            "After cleaning up, let it go on (`raise`, or clean up in finally)"
        )
    if "cleaned up" not in entries:
        raise Mistake(
            f"the TimeoutError came at {took:.2f} s, but the log reads {entries}: 'cleaned up' "
            "was never appended. Clean up when cancelled (in finally)"
        )
    if entries[-1] != "cleaned up" or entries.count("cleaned up") > 1 or entries[0] != "tick":
        raise Mistake(
            f"the log reads {entries}: expected ticks, then 'cleaned up' once, at the end"
        )
    return (
        f"{entries.count('tick')} ticks, 'cleaned up', and TimeoutError at {took:.2f} s: the "
        "cancellation went on after the cleanup"
    )


q3 = Exercise(
    "q3",
    "The first to finish wins, the others are cancelled",
    hint="""
        Define `class Won(Exception)`, and a runner that sleeps its delay with `asynckit.sleep`
        and then `raise Won(index)`. Start one runner per delay in a `TaskGroup`: the first
        `Won` makes the group cancel the others. Catch it with `except* Won as group:`, keep
        `group.exceptions[0]` in a variable (no `return` inside `except*`), and return its
        `args[0]` after the `try`.
    """,
    solution="""
        class Won(Exception):
            pass

        async def runner(index, seconds):
            await asynckit.sleep(seconds)
            raise Won(index)

        async def race(delays):
            try:
                async with asyncio.TaskGroup() as tg:
                    for i, seconds in enumerate(delays):
                        tg.create_task(runner(i, seconds))
            except* Won as group:
                first = group.exceptions[0]
            return first.args[0]
    """,
)


@q3.checks
async def _race(answer: Any) -> str:
    race = function(answer, "race")
    delays = [0.6, 0.05, 0.3]
    before = asyncio.all_tasks()
    with Timeline() as tl:
        winner = await race(delays)
    await _none_left_running(before, f"race({delays}) returned {winner!r}")
    sleeps = [s for s in tl.spans if s.kind == "sleep"]
    if not sleeps:
        raise Mistake(
            f"race({delays}) returned {winner!r} and the timeline recorded no sleep: each "
            "runner should await asynckit.sleep(delay)"
        )
    if peak_overlap(sleeps) < 2:
        raise Mistake(
            f"race({delays}): the runners' sleeps ran one after another; start them all in "
            "a TaskGroup so they race"
        )
    if winner != 1:
        raise Mistake(f"race({delays}) returned {winner!r}, not 1 (the index of 0.05 s)")
    finished = [s for s in sleeps if s.error is None]
    if len(finished) > 1:
        raise Mistake(
            f"race() returned 1 only after {tl.elapsed:.2f} s: {len(finished)} runners ran to "
            "their end. Stop the race when the first finishes, and cancel the others"
        )
    return "race() returned 1 at 0.05 s, and the two other runners were cancelled there"

"""Exercises of 08 Debug async code: debug mode, lost tasks and a frozen loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import re
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .. import Timeline, sleep, work
from ._exercise import Exercise, Mistake, function

__all__ = ["GIVEN", "asyncio_log", "debug_mode", "q1", "q2", "q3", "slow_tasks"]


class _Keep(logging.Handler):
    """A logging handler that keeps each record in a list."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def asyncio_log() -> Iterator[list[logging.LogRecord]]:
    """Collect the records asyncio logs during the block in a list (the notebook's)."""
    records: list[logging.LogRecord] = []
    handler = _Keep(records)
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@contextlib.asynccontextmanager
async def debug_mode() -> AsyncIterator[list[logging.LogRecord]]:
    """Run the block with the running loop in debug mode; yield what asyncio logs meanwhile."""
    loop = asyncio.get_running_loop()
    with asyncio_log() as records:
        loop.set_debug(True)
        try:
            yield records
        finally:
            loop.set_debug(False)
            await asyncio.sleep(0)


def slow_tasks(records: list[logging.LogRecord]) -> list[str]:
    """The names of the tasks whose steps debug mode reported as slow (the notebook's)."""
    return [
        name for r in records for name in re.findall(r"<Task \w+ name='([^']*)'", r.getMessage())
    ]


#: What the notebook defines before its exercises, for the tests that run an answer alone.
GIVEN: dict[str, Any] = {
    "debug_mode": debug_mode,
    "slow_tasks": slow_tasks,
    "asyncio_log": asyncio_log,
}

q1 = Exercise(
    "q1",
    "Catch stalls shorter than 0.1 s",
    hint="""
        Keep the loop's current `slow_callback_duration`, set it to `threshold`, and inside
        `async with debug_mode() as log:` run `await asyncio.create_task(job(), name="job")`.
        Put the old threshold back in a `finally`, and return `slow_tasks(log)`.
    """,
    solution="""
        async def slow_steps(job, threshold):
            loop = asyncio.get_running_loop()
            before = loop.slow_callback_duration
            loop.slow_callback_duration = threshold
            try:
                async with debug_mode() as log:
                    await asyncio.create_task(job(), name="job")
            finally:
                loop.slow_callback_duration = before
            return slow_tasks(log)
    """,
)


async def _chunked() -> None:
    """Five 30 ms blocking calls with an await between them: no step reaches 0.1 s."""
    for _ in range(5):
        work(0.03)
        await asyncio.sleep(0)


@q1.checks
async def _slow_steps(slow_steps: Any) -> str:
    slow_steps = function(slow_steps, "slow_steps")
    loop = asyncio.get_running_loop()
    default = loop.slow_callback_duration
    try:
        with Timeline(lag=True) as strict:
            found = await slow_steps(_chunked, 0.02)
        left_at, debug_left = loop.slow_callback_duration, loop.get_debug()
        loop.slow_callback_duration = default
        loop.set_debug(False)
        lenient = await slow_steps(_chunked, 0.1)
    finally:
        loop.slow_callback_duration = default
        loop.set_debug(False)
    if left_at != default or debug_left:
        left = f"slow_callback_duration at {left_at:g} s" if left_at != default else "debug on"
        raise Mistake(
            f"slow_steps left the loop with {left}: the notebook's loop runs everything after "
            "it, so put the settings back as they were (in a finally)"
        )
    if found is None:
        raise Mistake("slow_steps returned None: return slow_tasks(log), the names reported")
    stalls = sum(1 for s in strict.spans if s.kind == "work")
    lag_ms = strict.max_lag * 1000
    if stalls != 5:
        raise Mistake(
            f"the job blocked {stalls} times, not 5: run job() once, as a task, inside debug_mode()"
        )
    count = list(found).count("job")
    if count != 5:
        raise Mistake(
            f"with threshold 0.02 s, slow_steps reported {count} slow step(s) of the task "
            f"'job', though it blocked the loop 5 times for 30 ms (the lag trace peaked at "
            f"{lag_ms:.0f} ms): run it as a task named 'job' in debug_mode(), with the loop's "
            "slow_callback_duration set to the threshold"
        )
    if list(lenient).count("job"):
        raise Mistake(
            f"with threshold 0.1 s, slow_steps still reported {list(lenient).count('job')} "
            "step(s) of 30 ms: set slow_callback_duration to the threshold passed in"
        )
    return (
        f"at 0.1 s debug mode saw nothing; at 0.02 s it named the 5 steps of 'job' that held "
        f"the loop (the lag peaked at {lag_ms:.0f} ms); the loop's settings are back as they were"
    )


q2 = Exercise(
    "q2",
    "A spawn that neither loses tasks nor errors",
    hint="""
        In `spawn`, `task = asyncio.create_task(coro, name=name)`, `spawned.add(task)`, and
        `task.add_done_callback(on_done)`. In `on_done(task)`, `spawned.discard(task)`, and if
        the task was not cancelled and `task.exception()` is not None, append
        `(task.get_name(), task.exception())` to `failures`.
    """,
    solution="""
        spawned, failures = set(), []

        def on_done(task):
            spawned.discard(task)
            if not task.cancelled() and task.exception() is not None:   # this retrieves it
                failures.append((task.get_name(), task.exception()))

        def spawn(coro, *, name=None):
            task = asyncio.create_task(coro, name=name)
            spawned.add(task)
            task.add_done_callback(on_done)
            return task
    """,
)


@q2.checks
async def _spawn(spawn: Any, spawned: Any = None, failures: Any = None) -> str:
    spawn = function(spawn, "spawn", coroutine=False)
    if not isinstance(spawned, set) or not isinstance(failures, list):
        raise Mistake(
            "pass the set and the list too: ex.q2.check(spawn, spawned, failures), with "
            "spawned = set() and failures = [] defined next to spawn"
        )
    spawned.clear()
    failures.clear()
    listeners: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()
    heard: list[str] = []

    async def listen() -> None:
        signal = asyncio.Event()
        listeners.add(signal)
        await signal.wait()  # only this task's own frame holds `signal`
        heard.append("signal")

    async def charge(amount: int) -> None:
        await sleep(0.02)
        if amount < 0:
            raise ValueError(f"cannot charge {amount}")

    loop = asyncio.get_running_loop()
    reports: list[str] = []

    def collect(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task = context.get("task") or context.get("future")
        name = task.get_name() if isinstance(task, asyncio.Task) else "?"
        reports.append(f"{context['message']} ({name!r})")

    listening, charging = listen(), charge(-5)
    previous = loop.get_exception_handler()
    loop.set_exception_handler(collect)
    try:
        started = spawn(listening, name="listener")
        if not isinstance(started, asyncio.Task):
            for coroutine in (listening, charging):
                if inspect.getcoroutinestate(coroutine) == "CORO_CREATED":
                    coroutine.close()  # never started: close it, so Python does not warn
            raise Mistake(
                f"spawn(coro) returned {started!r}, not a task: start the coroutine with "
                "asyncio.create_task, keep the task in spawned, and return it"
            )
        del started, listening  # the check keeps no reference: spawn must
        spawn(charging, name="charge -5")
        del charging
        stopped = spawn(sleep(10), name="stopped")  # cancelled: neither a failure nor an error
        await asyncio.sleep(0)
        if isinstance(stopped, asyncio.Task):
            stopped.cancel()
        del stopped
        gc.collect()
        for signal in list(listeners):
            signal.set()
        pending = [t for t in spawned if isinstance(t, asyncio.Task)]
        if pending:
            await asyncio.wait(pending, timeout=2)
        del pending
        await asyncio.sleep(0.1)  # time for a charge nobody kept to fail, too
        gc.collect()  # an exception nobody retrieved is reported now
    finally:
        loop.set_exception_handler(previous)
    if any("destroyed but it is pending" in r for r in reports) or not heard:
        raise Mistake(
            "the listener task was garbage-collected while it waited (the loop reported: "
            f"{'; '.join(reports) or 'nothing'}): keep a strong reference to every task "
            "spawn starts, in the set spawned"
        )
    raised = [r for r in reports if r.startswith("Exception in callback")]
    if raised:
        raise Mistake(
            f"the done callback raised when the task 'stopped' was cancelled ({raised[0]}): "
            "task.exception() raises CancelledError on a cancelled task, so ask "
            "task.cancelled() first"
        )
    if spawned:
        raise Mistake(
            f"spawned still holds {len(spawned)} finished task(s): let each task remove itself "
            "when it is done (task.add_done_callback), or the set grows forever"
        )
    got = [(n, type(e).__name__) for n, e in failures] if failures else []
    if any("never retrieved" in r for r in reports) or got != [("charge -5", "ValueError")]:
        raise Mistake(
            f"failures holds {got or 'nothing'}, and the loop reported "
            f"{'; '.join(reports) or 'nothing'}: the task 'charge -5' failed with ValueError; "
            "in a done callback, ask a task that was not cancelled for task.exception() and "
            "record (name, exception)"
        )
    return (
        "the listener survived a garbage collection and heard its signal, the charge's "
        "ValueError landed in failures, nothing was reported, and spawned emptied itself"
    )


q3 = Exercise(
    "q3",
    "Which tasks hang, and on what?",
    hint="""
        `_, pending = await asyncio.wait(tasks, timeout=timeout)` returns without cancelling
        anything. For each pending task, start from `task.get_coro()` and follow `.cr_await`
        while the next one has a `cr_frame` (a coroutine); the last coroutine's `__qualname__`
        is the innermost.
    """,
    solution="""
        async def hanging(tasks, timeout):
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            found = []
            for task in sorted(pending, key=asyncio.Task.get_name):
                coro = task.get_coro()
                while getattr(coro.cr_await, "cr_frame", None) is not None:
                    coro = coro.cr_await
                found.append((task.get_name(), coro.__qualname__))
            return found
    """,
)


@q3.checks
async def _hanging(hanging: Any) -> str:
    hanging = function(hanging, "hanging")
    lock, ready, queue = asyncio.Lock(), asyncio.Event(), asyncio.Queue[int]()

    async def wait_until_ready() -> None:
        await ready.wait()

    async def job(n: int) -> None:
        await sleep(0.02 * n)
        if n == 1:
            await wait_until_ready()  # two coroutines deep: wait_until_ready -> Event.wait
        elif n == 3:
            async with lock:
                pass
        elif n == 4:
            await queue.get()

    await lock.acquire()  # held by the check: job-3 waits for it
    jobs = [asyncio.create_task(job(n), name=f"job-{n}") for n in (4, 0, 3, 2, 1)]
    timeout = 0.2
    try:
        try:
            async with asyncio.timeout(timeout + 2):
                result = await hanging(jobs, timeout)
        except TimeoutError:
            raise Mistake(
                f"hanging(tasks, {timeout}) had not returned 2 s after its timeout: it waited "
                "for tasks that never finish; asyncio.wait(tasks, timeout=...) returns the "
                "pending ones instead of waiting forever"
            ) from None
        cancelled = sorted(t.get_name() for t in jobs if t.cancelled())
        still = sorted(t.get_name() for t in jobs if not t.done())
    finally:
        lock.release()
        ready.set()
        queue.put_nowait(0)
        await asyncio.gather(*jobs, return_exceptions=True)
    if cancelled:
        raise Mistake(
            f"hanging() cancelled {', '.join(cancelled)}: it should only report the tasks "
            "still pending, and leave them as they are"
        )
    expected = [("job-1", "Event.wait"), ("job-3", "Lock.acquire"), ("job-4", "Queue.get")]
    if result is None:
        raise Mistake("hanging() returned None: return the list of (name, innermost) pairs")
    result = [tuple(pair) if isinstance(pair, list | tuple) else pair for pair in result]
    names = [pair[0] if isinstance(pair, tuple) and pair else pair for pair in result]
    if sorted(map(str, names)) != [name for name, _ in expected]:
        raise Mistake(
            f"hanging() named {names}, but the tasks still pending after {timeout} s were {still}"
        )
    if names != sorted(names):
        raise Mistake(f"hanging() returned the pending tasks as {names}: sort them by name")
    if result != expected:
        wrong = [(got, want) for got, want in zip(result, expected, strict=True) if got != want]
        got, want = wrong[0]
        raise Mistake(
            f"for {want[0]} hanging() gave {got[1]!r}, but the innermost coroutine it is "
            f"suspended in is {want[1]!r}: follow cr_await from the task's coroutine down to "
            "the last coroutine (one whose cr_await has no cr_frame)"
        )
    return (
        f"after {timeout} s, {len(expected)} of 5 jobs were pending: "
        + ", ".join(f"{n} in {q}" for n, q in expected)
        + "; none was cancelled"
    )

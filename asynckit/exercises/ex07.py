"""Exercises of 07 Keep blocking code off the event loop: threads, processes and files."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import pickle
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NamedTuple

import aiofiles  # type: ignore[import-untyped]
import aiofiles.threadpool  # type: ignore[import-untyped]

from .. import Timeline, work
from ._exercise import Exercise, Mistake, function, peak_overlap

__all__ = ["GIVEN", "q1", "q2", "q3"]

#: What the notebook's setup cell imports besides the usual, for the tests that run an answer alone.
GIVEN: dict[str, Any] = {"aiofiles": aiofiles}

q1 = Exercise(
    "q1",
    "Unfreeze a blocking library call",
    hint="""
        `await asyncio.to_thread(resize, item)` runs one blocking call in a worker thread and
        lets the loop serve others meanwhile. Make one such awaitable per item and hand them
        all to `asyncio.gather`, which keeps their order.
    """,
    solution="""
        async def resize_all(resize, items):
            return await asyncio.gather(*(asyncio.to_thread(resize, item) for item in items))
    """,
)


class _Call(NamedTuple):
    start: float
    end: float
    thread: str


class _Resize:
    """The check's blocking library call: 0.2 s of time.sleep (recorded as a work span, for
    a plot). Each call also notes when it ran and in which thread, whatever ran it:
    asyncio.to_thread, loop.run_in_executor, or a pool of one's own, whose threads do not
    see the check's Timeline."""

    def __init__(self) -> None:
        self.calls: list[_Call] = []
        self._lock = threading.Lock()

    def __call__(self, item: int) -> int:
        started = time.perf_counter()
        work(0.2, label=f"resize({item})")
        call = _Call(started, time.perf_counter(), threading.current_thread().name)
        with self._lock:
            self.calls.append(call)
        return 2 * item


@q1.checks
async def _resize_all(resize_all: Any) -> str:
    resize_all = function(resize_all, "resize_all")
    items = [0, 1, 2, 3, 4]
    resize = _Resize()
    with Timeline(lag=True) as tl:
        results = await resize_all(resize, items)
    calls = resize.calls
    if not calls:
        raise Mistake(
            "resize was never called: call the resize function the check passes in, once per item"
        )
    if results is None:
        raise Mistake("resize_all returned None: return the list of resize(item) results")
    if list(results) != [2 * i for i in items]:
        raise Mistake(f"resize_all returned {list(results)}, not {[2 * i for i in items]}")
    lag_ms = tl.max_lag * 1000
    in_loop = [c for c in calls if c.thread == threading.current_thread().name]
    if in_loop:  # judged by the thread each call ran in, not by how late the loop ran
        raise Mistake(
            f"{len(in_loop)} of the {len(calls)} resizes ran in the event loop's own thread: "
            f"each froze every task for 0.2 s ({tl.elapsed:.2f} s of blocking in all); run "
            "each one in a worker thread with asyncio.to_thread"
        )
    at_once = peak_overlap(calls)  # type: ignore[arg-type]
    if at_once < len(items):
        raise Mistake(
            f"the loop stayed free (lag {lag_ms:.0f} ms), but at most {at_once} of the "
            f"{len(items)} resizes ran at once, so they took {tl.elapsed:.2f} s one after "
            "another: start them all before awaiting any (gather)"
        )
    return (
        f"5 resizes in worker threads, all at once: {tl.elapsed:.2f} s in all, and the loop "
        f"never lagged more than {lag_ms:.0f} ms"
    )


q2 = Exercise(
    "q2",
    "Sum big ranges in processes",
    hint="""
        `loop = asyncio.get_running_loop()`, then one `loop.run_in_executor(pool, sum,
        range(n))` per size, all handed to `asyncio.gather`. `sum` is a built-in that every
        process can import by name, and a `range` pickles as three numbers, so both travel.
    """,
    solution="""
        async def sums_in_processes(pool, sizes):
            loop = asyncio.get_running_loop()
            return await asyncio.gather(*(loop.run_in_executor(pool, sum, range(n))
                                          for n in sizes))
    """,
)


class _NotImportable(Exception):
    """A job a process could not import: the check refuses it before it is sent."""


def _defined_in_notebook(fn: Any) -> str | None:
    """The name of ``fn`` (or of the function a partial wraps) if a process cannot import it."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", repr(fn))
    if module in (None, "__main__") or "<lambda>" in name or "<locals>" in name:
        return name
    return None


class _WatchedPool(ProcessPoolExecutor):
    """A process pool that counts what it was given and how many jobs were out at once."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        self.submitted: list[str] = []
        self.out = self.most_out = 0
        self._count = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        name = _defined_in_notebook(fn)
        if name is not None:
            raise _NotImportable(name)
        future = super().submit(fn, *args, **kwargs)
        with self._count:
            self.submitted.append(getattr(fn, "__qualname__", repr(fn)))
            self.out += 1
            self.most_out = max(self.most_out, self.out)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: Future[Any]) -> None:
        with self._count:
            self.out -= 1


@q2.checks
async def _sums_in_processes(sums_in_processes: Any) -> str:
    sums_in_processes = function(sums_in_processes, "sums_in_processes")
    sizes = [k * 1_000_000 for k in (1, 2, 3, 4)]
    pool = _WatchedPool()
    try:
        sums = await sums_in_processes(pool, sizes)
    except _NotImportable as refused:
        raise Mistake(
            f"you sent {refused} to the pool, a function defined in the notebook: a process "
            "gets a function by its importable name, which a lambda or a notebook function "
            "lacks (it may work with fork on Linux, and fails elsewhere); send sum itself, "
            "with range(n) as its argument"
        ) from None
    except (pickle.PicklingError, AttributeError, TypeError, BrokenProcessPool) as error:
        raise Mistake(
            f"sending the job to a process failed ({type(error).__name__}: {error}): only "
            "importable functions and picklable arguments travel; send sum and range(n)"
        ) from None
    finally:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    expected = [n * (n - 1) // 2 for n in sizes]
    if sums is None and not pool.submitted:
        raise Mistake("sums_in_processes returned None: return the list of sums, in order")
    if not pool.submitted:
        raise Mistake(
            "no job reached the process pool: the sums were computed in the notebook's own "
            "process (and froze its loop); hand each one to loop.run_in_executor(pool, ...)"
        )
    if sums is None:
        raise Mistake("sums_in_processes returned None: return the list of sums")
    if list(sums) != expected:
        raise Mistake(f"sums_in_processes returned {list(sums)}, not {expected}")
    if pool.most_out < 2:
        raise Mistake(
            f"the pool got {len(pool.submitted)} jobs but never more than one at a time: each "
            "was awaited before the next was sent, so the two processes took turns; send them "
            "all, then gather"
        )
    return (
        f"4 sums, all correct, computed by 2 worker processes, with {pool.most_out} jobs sent "
        "before the first came back; the pool was shut down afterwards"
    )


q3 = Exercise(
    "q3",
    "Count lines with aiofiles, a few files at a time",
    hint="""
        Make `gate = asyncio.Semaphore(limit)` inside `count_lines`, and a helper coroutine that
        does `async with gate, aiofiles.open(path) as f:` then counts the lines of
        `await f.read()`. Gather the helper over all paths and `sum` the counts.
    """,
    solution="""
        async def count_lines(paths, limit=20):
            gate = asyncio.Semaphore(limit)

            async def lines_in(path):
                async with gate, aiofiles.open(path) as f:
                    return (await f.read()).count("\\n")

            return sum(await asyncio.gather(*(lines_in(p) for p in paths)))
    """,
)


class _OpenFiles:
    """Stands in for the built-in open inside aiofiles: counts how many files are open at
    once (the most is always reached at an open), and which are still open at the end."""

    def __init__(self) -> None:
        self.files: list[Any] = []
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        file = open(*args, **kwargs)  # noqa: SIM115 (aiofiles closes it, or the check does)
        with self._lock:
            self.files.append(file)
            self.most = max(self.most, sum(not f.closed for f in self.files))
        return file

    def left_open(self) -> int:
        still = [f for f in self.files if not f.closed]
        for file in still:
            file.close()
        return len(still)


@q3.checks
async def _count_lines(count_lines: Any) -> str:
    count_lines = function(count_lines, "count_lines")

    limit, n_files = 5, 40
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(n_files):
            path = Path(folder) / f"check_{i:02}.txt"
            path.write_text("".join(f"line {j}\n" for j in range(i % 7 + 1)))
            paths.append(path)
        expected = sum(i % 7 + 1 for i in range(n_files))
        counter = _OpenFiles()
        original = aiofiles.threadpool.sync_open
        aiofiles.threadpool.sync_open = counter
        try:
            total = await count_lines(paths, limit)
        finally:
            aiofiles.threadpool.sync_open = original
            left = counter.left_open()
    if not counter.files:
        raise Mistake(
            "the check saw no aiofiles.open(...): read each file with "
            "`async with aiofiles.open(path) as f:` and `await f.read()`"
        )
    if total != expected:
        raise Mistake(f"count_lines returned {total!r} for {n_files} files, not {expected}")
    if left:
        raise Mistake(
            f"{left} file(s) were still open when count_lines returned: open them with "
            "`async with aiofiles.open(...)`, which closes each file"
        )
    if counter.most > limit:
        raise Mistake(
            f"with limit={limit}, up to {counter.most} files were open at once: hold an "
            "asyncio.Semaphore(limit) for as long as a file is open (use the limit argument)"
        )
    if counter.most < 2:
        raise Mistake(
            "the files were opened one after another, never two at once: read them "
            "concurrently (gather), up to the limit"
        )
    return (
        f"{expected} lines in {n_files} files, read with aiofiles, never more than "
        f"{counter.most} open at once (the limit: {limit}), each one closed"
    )

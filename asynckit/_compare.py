"""Comparing runs: the same batch of work sequentially and concurrently, against the ideal."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._library import current_library, error_name
from ._timeline import Timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` measured: both timelines, both totals, and the ideal.

    ``speedup`` is sequential over concurrent time. ``ideal_speedup`` is what perfect overlap
    would give: the sequential total over the longest single item, since a concurrent run can
    never finish before its longest item. ``efficiency`` is speedup over ideal (1.0 is perfect).
    In Jupyter a Comparison shows itself as both timelines on one time axis and a bar chart.

    Example::

        c = await asynckit.compare(lambda: [asynckit.sleep(0.1) for _ in range(10)])
        print(f"{c.speedup:.1f}x of an ideal {c.ideal_speedup:.1f}x")
        c   # the plot
    """

    sequential: Timeline
    concurrent: Timeline
    sequential_s: float
    concurrent_s: float
    longest_item_s: float
    items: int
    label: str | None = None

    @property
    def speedup(self) -> float:
        """Sequential time over concurrent time."""
        return self.sequential_s / max(self.concurrent_s, 1e-9)

    @property
    def ideal_speedup(self) -> float:
        """Sequential time over the longest single item: the best overlap can do."""
        return self.sequential_s / max(self.longest_item_s, 1e-9)

    @property
    def efficiency(self) -> float:
        """Speedup over ideal speedup: 1.0 when the concurrent run is as fast as it can be."""
        return self.speedup / self.ideal_speedup

    def plot(self) -> Figure:
        """Draw both timelines on one time axis and the totals beside the ideal; return the
        Figure (which Jupyter shows when it ends a cell)."""
        from ._plot import plot_comparison

        return plot_comparison(self)

    def _repr_png_(self) -> bytes:
        from ._plot import comparison_png

        return comparison_png(self)

    def __str__(self) -> str:
        label = f"{self.label}: " if self.label else ""
        return (
            f"{label}{self.items} item{'' if self.items == 1 else 's'}, "
            f"sequential {self.sequential_s:.3f} s, "
            f"concurrent {self.concurrent_s:.3f} s, speedup {self.speedup:.1f}x "
            f"of an ideal {self.ideal_speedup:.1f}x ({self.efficiency:.0%})"
            + (_BEYOND_IDEAL if self.efficiency > 1.1 else "")
        )

    def __repr__(self) -> str:
        return f"<Comparison {self}>"


_BEYOND_IDEAL = (
    "; the concurrent run beat the ideal, so its items took less time than in the sequential "
    "run: a cache the first run filled, or a busy machine during it; make every item do the "
    "same work each time for a fair comparison"
)


async def compare(
    make_batch: Callable[[], Iterable[Awaitable[Any]]], *, label: str | None = None
) -> Comparison:
    """Run a batch of awaitables one after another, then a fresh batch concurrently, and
    measure both, each under its own Timeline.

    ``make_batch`` is called twice and must return a fresh list of awaitables each time (a
    coroutine can only be awaited once). Tasks, futures and coroutines that have already
    started are refused with a ``TypeError``: they run before compare() can time them, so a
    "sequential" run of them would really be concurrent. The concurrent run uses asyncio's
    TaskGroup, a Trio nursery or a Curio task group, whichever library is running, so if an
    item fails the others are cancelled and the failure propagates as an ExceptionGroup.
    Coroutines that a failure leaves unawaited are closed, never left behind.

    Example::

        c = await asynckit.compare(lambda: [asynckit.sleep(0.2) for _ in range(5)], label="naps")
        c.speedup, c.ideal_speedup      # about (5.0, 5.0)
    """
    if not callable(make_batch):
        _close_all(make_batch)
        raise TypeError(
            "compare() needs a function that returns a fresh batch, for example "
            "lambda: [asynckit.sleep(1) for _ in range(3)]; a list of coroutines can only be "
            "awaited once"
        )
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str or None, not {type(label).__name__}")
    library = current_library("asynckit.compare()")

    batch = _fresh_batch(make_batch)
    longest = 0.0
    with Timeline(name="sequential") as sequential:
        started = perf_counter()
        for index, awaitable in enumerate(batch):
            item_started = perf_counter()
            try:
                await awaitable
            except BaseException:
                _close_all(batch[index + 1 :])
                raise
            longest = max(longest, perf_counter() - item_started)
        sequential_s = perf_counter() - started

    second = _fresh_batch(make_batch)
    if len(second) != len(batch):
        _close_all(second)
        raise ValueError(
            f"make_batch returned {len(batch)} awaitables, then {len(second)}: it must return "
            "the same batch each time it is called"
        )
    with Timeline(name="concurrent") as concurrent:
        started = perf_counter()
        try:
            await _run_concurrently(library, second)
        except BaseException:
            _close_all(second)  # items a failure cancelled before they started
            raise
        concurrent_s = perf_counter() - started

    return Comparison(
        sequential, concurrent, sequential_s, concurrent_s, longest, len(batch), label
    )


def _fresh_batch(make_batch: Callable[[], Iterable[Awaitable[Any]]]) -> list[Awaitable[Any]]:
    existing = _asyncio_tasks()
    made = make_batch()
    try:
        batch = list(made)
    except TypeError:
        _close_all(made)
        raise TypeError(
            f"make_batch must return a list of awaitables, not {type(made).__name__}"
        ) from None
    for index, item in enumerate(batch):
        problem = _not_fresh(item, batch[:index])
        if problem is not None:
            _close_all(batch)
            _cancel_new_tasks(batch, existing)
            raise TypeError(f"make_batch returned {problem} at index {index}{_FRESH_HINT}")
        if not inspect.isawaitable(item):
            _close_all(batch)
            raise TypeError(
                f"make_batch returned a {type(item).__name__} at index {index}; every item must "
                "be awaitable (did you call a coroutine function without its arguments, or "
                "pass a plain function?)"
            )
    if not batch:
        raise ValueError("make_batch returned an empty batch: there is nothing to compare")
    return batch


_FRESH_HINT = (
    ": compare() times each item from its start, so every item must be a coroutine that has "
    "not started yet. Pass a make_batch that builds fresh coroutines each time it is called, "
    "for example lambda: [fetch(i) for i in range(3)], rather than tasks or futures that are "
    "already running"
)


def _not_fresh(item: object, before: list[Awaitable[Any]]) -> str | None:
    """What is wrong with ``item`` as an item to time, or None: a task or a future is already
    running (or done), and a coroutine may have started, finished, or appear twice."""
    if isinstance(item, asyncio.Task):
        return "an asyncio Task, already running"
    if asyncio.isfuture(item):
        return "a Future, which something else is already working on"
    if inspect.iscoroutine(item):
        state = inspect.getcoroutinestate(item)
        if state != inspect.CORO_CREATED:
            return f"a coroutine that has already {_STARTED[state]}"
        if any(other is item for other in before):
            return "the same coroutine a second time"
    return None


_STARTED = {
    inspect.CORO_RUNNING: "started (it is running)",
    inspect.CORO_SUSPENDED: "started",
    inspect.CORO_CLOSED: "finished",
}


def _asyncio_tasks() -> set[asyncio.Task[Any]]:
    """The asyncio tasks that exist now (none outside a running asyncio loop)."""
    try:
        return asyncio.all_tasks()
    except RuntimeError:
        return set()


def _cancel_new_tasks(batch: list[Awaitable[Any]], existing: set[asyncio.Task[Any]]) -> None:
    """Cancel the tasks make_batch started for a batch that is refused: nothing else holds
    them, and they would run on unseen. Tasks that existed before it was called are left be."""
    for item in batch:
        if isinstance(item, asyncio.Task) and item not in existing:
            item.cancel()


def _close_all(items: object) -> None:
    """Close coroutine objects that will never be awaited, so none warns or leaks."""
    if inspect.iscoroutine(items):
        items.close()
    elif isinstance(items, list | tuple):
        for item in items:
            if inspect.iscoroutine(item):
                item.close()


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _run_concurrently(library: str, batch: list[Awaitable[Any]]) -> None:
    names = [f"item {i}" for i in range(len(batch))]
    if library == "asyncio":
        async with asyncio.TaskGroup() as group:
            for name, awaitable in zip(names, batch, strict=True):
                group.create_task(_await(awaitable), name=name)
    elif library == "trio":
        import trio

        async with trio.open_nursery() as nursery:
            for name, awaitable in zip(names, batch, strict=True):
                nursery.start_soon(_await, awaitable, name=name)
    else:
        import curio

        async with curio.TaskGroup() as group:
            for name, awaitable in zip(names, batch, strict=True):
                task = await group.spawn(_await, awaitable)
                task.name = name
        # A Curio task group cancels the others when one fails, but raises nothing itself:
        # raise what failed, as an ExceptionGroup like asyncio's TaskGroup and Trio's nursery.
        failures = [e for e in group.exceptions if e is not None and error_name(e) != "cancelled"]
        if failures:
            raise BaseExceptionGroup("an item of the concurrent run failed", failures)

"""Exercises of 04 Stream data with async generators."""

from __future__ import annotations

import inspect
import math
from collections.abc import AsyncGenerator
from typing import Any

from ._exercise import Exercise, Mistake, local_api

__all__ = ["q1", "q2", "q3"]


def async_generator(answer: object, name: str) -> Any:
    """``answer`` if it is an async generator function, else a :class:`Mistake` saying what
    it is instead."""
    if answer is None:
        raise Mistake(f"{name} is None: define it in the cell above, run that cell, then this one")
    if not callable(answer):
        raise Mistake(f"{name} should be a function, not a {type(answer).__name__}")
    if inspect.iscoroutinefunction(answer):
        raise Mistake(
            f"{name} is a coroutine function (async def without yield): an async generator "
            "hands on its items with `yield`, one at a time"
        )
    if not inspect.isasyncgenfunction(answer):
        raise Mistake(f"{name} should be an async generator: define it with async def, and yield")
    return answer


class _Source:
    """A source the checks can watch: how many items were asked of it, and whether it was
    closed."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled = 0
        self.closed = False
        self.items = self._items()

    async def _items(self) -> AsyncGenerator[int, None]:
        try:
            for i in range(self.count):
                self.pulled += 1
                yield i
        finally:
            self.closed = True

    @property
    def open(self) -> bool:
        """Started and not closed: suspended at a ``yield``, its ``finally`` still to run."""
        return (
            self.pulled > 0
            and not self.closed
            and getattr(self.items, "ag_frame", None) is not None
        )


q1 = Exercise(
    "q1",
    "Stop on X-Total-Count",
    hint="""
        Keep `page` and `total = None`. Loop `while total is None or (page - 1) * limit <
        total:`; in it, `async with session.get(f"{url}?_page={page}&_limit={limit}") as
        response:`, read `total = int(response.headers["X-Total-Count"])` and `batch = await
        response.json()`, yield each item of the batch, then `page += 1`.
    """,
    solution="""
        async def paginate_counted(session, url, limit=20):
            page, total = 1, None
            while total is None or (page - 1) * limit < total:
                async with session.get(f"{url}?_page={page}&_limit={limit}") as response:
                    total = int(response.headers["X-Total-Count"])
                    batch = await response.json()
                for item in batch:
                    yield item
                page += 1
    """,
)


@q1.checks
async def _paginate_counted(answer: Any) -> str:
    import aiohttp

    paginate_counted = async_generator(answer, "paginate_counted")
    api = local_api()
    async with aiohttp.ClientSession() as session:
        for limit in (20, 30):
            api.reset_stats()
            url = f"{api.url}/posts"
            items = [item async for item in paginate_counted(session, url, limit)]
            ids = [item.get("id") if isinstance(item, dict) else item for item in items]
            requests, pages = api.stats()["requests"], math.ceil(100 / limit)
            call = f"paginate_counted(session, url, {limit})"
            if ids != list(range(1, 101)):
                shown = f"{ids[:3]} ... {ids[-2:]}" if len(ids) > 5 else f"{ids}"
                raise Mistake(
                    f"{call} yielded {len(ids)} items ({shown}), not the 100 posts with ids 1 to "
                    "100 in order: yield each item of each page"
                )
            if requests > pages:
                raise Mistake(
                    f"{call} yielded the 100 posts but sent {requests} requests for {pages} pages "
                    f"of {limit}: the last one asked for a page past the end. Stop once "
                    "(page - 1) * limit reaches the X-Total-Count header of the first answer"
                )
    return "100 posts in 5 requests of 20 and in 4 of 30: not one page too many"


q2 = Exercise(
    "q2",
    "Take the first few, and close",
    hint="""
        Open the source with `async with contextlib.aclosing(source):`, and inside it ask for
        one item at a time, `n` times: `item = await anext(source)` (stop with `return` on
        `StopAsyncIteration`), then `yield item`. Asking in a `for _ in range(n)` loop never
        pulls an item too many, and the `async with` closes the source as soon as you are done.
    """,
    solution="""
        async def take(source, n):
            async with contextlib.aclosing(source):
                for _ in range(n):
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        return
                    yield item
    """,
)


@q2.checks
async def _take(answer: Any) -> str:
    take = async_generator(answer, "take")
    for count, n in ((10, 3), (2, 5), (10, 0)):
        source = _Source(count)
        got = [item async for item in take(source.items, n)]
        expected = list(range(min(count, n)))
        call = f"take(source, {n}) on a source of {count} items"
        if got != expected:
            raise Mistake(f"{call} gave {got}, not {expected}")
        if source.pulled > n:
            raise Mistake(
                f"{call} asked the source for {source.pulled} items to hand on {n}: the extra "
                "one was fetched for nothing (and lost). Stop before asking for item n + 1"
            )
        if source.open:
            raise Mistake(
                f"{call} gave {got}, but left the source open: when take() finished, the "
                "source's finally had not run (its connection would still be open). Close it "
                "at once: async with contextlib.aclosing(source)"
            )
    return "the first n items, never one more asked of the source, and the source closed at once"


q3 = Exercise(
    "q3",
    "Batch a stream",
    hint="""
        Collect items in a list while you `async for` over the source; when the list holds
        `size` items, `yield` it and start a new one. After the loop, yield the last list only
        if it is not empty.
    """,
    solution="""
        async def batched(source, size):
            batch = []
            async for item in source:
                batch.append(item)
                if len(batch) == size:
                    yield batch
                    batch = []
            if batch:
                yield batch
    """,
)


@q3.checks
async def _batched(answer: Any) -> str:
    batched = async_generator(answer, "batched")
    for count, size in ((10, 4), (8, 4)):
        got = [list(b) async for b in batched(_Source(count).items, size)]
        expected = [list(range(i, min(i + size, count))) for i in range(0, count, size)]
        call = f"batched(source, {size}) on {count} items"
        if got == expected:
            continue
        flat = [item for batch in got for item in batch]
        if got and got[-1] == [] and got[:-1] == expected:
            raise Mistake(f"{call} gave {got}: the empty batch at the end should not be yielded")
        if flat == list(range(count - len(expected[-1]))) and got == expected[:-1]:
            raise Mistake(
                f"{call} gave {got}: the last, shorter batch {expected[-1]} is missing; "
                "yield what is left after the loop"
            )
        raise Mistake(f"{call} gave {got}, not {expected}")
    source = _Source(10)
    batches = batched(source.items, 4)
    try:
        await anext(batches)
        pulled = source.pulled
    finally:
        await batches.aclose()
        await source.items.aclose()
    if pulled > 5:
        raise Mistake(
            f"batched(source, 4) asked the source for {pulled} of its 10 items before it yielded "
            "the first batch: yield each batch as soon as it is full, so the consumer can start"
        )
    return "batches of 4 as soon as each is full, the last one shorter, and no empty batch"

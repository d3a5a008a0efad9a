"""compare: sequential against concurrent, under asyncio, Trio and Curio, and its bad inputs."""

import asyncio
import gc
import time
import warnings

import curio
import pytest
import trio

import asynckit


def naps(n=5, seconds=0.1):
    return lambda: [asynckit.sleep(seconds, label=f"nap {i}") for i in range(n)]


def check_naps(c, n=5, seconds=0.1):
    assert isinstance(c, asynckit.Comparison)
    assert c.items == n
    assert len(c.sequential.spans) == n and len(c.concurrent.spans) == n
    assert c.sequential_s >= n * seconds * 0.9
    assert seconds * 0.9 <= c.concurrent_s < c.sequential_s
    # Generous: on a busy machine the concurrent run may lose time, but never most of it.
    assert n * 0.9 <= c.ideal_speedup <= n * 1.1
    assert c.speedup > n / 2
    assert c.efficiency == pytest.approx(c.speedup / c.ideal_speedup)
    # Near 1; a little above it is possible on a busy machine, when the longest item happened
    # to run slower in the sequential run than the whole concurrent run took.
    assert 0.5 < c.efficiency < 1.5
    assert c.sequential.name == "sequential" and c.concurrent.name == "concurrent"
    # Sequentially one task runs every item; concurrently each item has a task of its own.
    assert len({s.task for s in c.sequential.spans}) == 1
    assert len({s.task for s in c.concurrent.spans}) == n


def test_compare_under_asyncio():
    c = asyncio.run(asynckit.compare(naps(), label="naps"))
    check_naps(c)
    assert "naps: 5 items" in str(c) and "speedup" in repr(c)
    one = asyncio.run(asynckit.compare(lambda: [asynckit.sleep(0.01)]))
    assert str(one).startswith("1 item, sequential")


def test_compare_under_trio():
    check_naps(trio.run(asynckit.compare, naps()))


def test_compare_under_curio():
    check_naps(curio.run(asynckit.compare(naps())))


def test_ideal_uses_the_longest_item():
    batch = lambda: [asynckit.sleep(s) for s in (0.02, 0.02, 0.1)]  # noqa: E731
    c = asyncio.run(asynckit.compare(batch))
    assert 0.095 <= c.longest_item_s < 0.2
    assert c.ideal_speedup == pytest.approx(c.sequential_s / c.longest_item_s)


def test_tasks_futures_and_started_coroutines_are_refused_and_nothing_is_left_behind():
    # Already running, they would make a "sequential" run concurrent: refused, with the fix.
    async def main():
        loop = asyncio.get_running_loop()
        started = asynckit.sleep(0)
        started.send(None)  # suspended at its first await
        finished = nothing()
        with pytest.raises(StopIteration):
            finished.send(None)
        same = asynckit.sleep(0)
        batches = {
            "asyncio Task": lambda: [asyncio.ensure_future(asynckit.sleep(0.01))],
            "Future": lambda: [loop.create_future()],
            "already started": lambda: [started],
            "already finished": lambda: [finished],
            "the same coroutine a second time": lambda: [same, same],
        }
        messages = {}
        for problem, batch in batches.items():
            with pytest.raises(TypeError) as info:
                await asynckit.compare(batch)
            messages[problem] = str(info.value)
        await asyncio.sleep(0.02)  # the task made above finishes: nothing is left pending
        started.close()
        return messages

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        messages = asyncio.run(main())
        gc.collect()
    for problem, message in messages.items():
        assert problem in message
        assert "make_batch that builds fresh coroutines" in message


async def nothing():
    pass


def test_other_awaitables_are_still_accepted():
    class Nap:
        def __await__(self):
            return asynckit.sleep(0.01).__await__()

    assert asyncio.run(asynckit.compare(lambda: [Nap(), Nap()])).items == 2


def test_empty_batch_is_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        asyncio.run(asynckit.compare(lambda: []))


def test_a_list_instead_of_a_function_is_a_type_error_and_leaves_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="fresh batch"):
            asyncio.run(asynckit.compare([asynckit.sleep(0)]))  # type: ignore[arg-type]
        gc.collect()


@pytest.mark.parametrize("made", [[1, 2], 5, [asynckit.sleep]])
def test_items_that_are_not_awaitable_are_a_type_error(made):
    with pytest.raises(TypeError, match="awaitable|list of awaitables"):
        asyncio.run(asynckit.compare(lambda: made))


def test_a_batch_that_changes_size_is_a_value_error():
    sizes = iter([2, 3])
    with pytest.raises(ValueError, match="same batch"):
        asyncio.run(asynckit.compare(lambda: [asynckit.sleep(0) for _ in range(next(sizes))]))


def test_a_failing_item_propagates_and_leaves_no_coroutine_unawaited():
    async def boom():
        await asynckit.sleep(0.01)
        raise RuntimeError("boom")

    def batch():
        return [asynckit.sleep(0.01), boom(), asynckit.sleep(0.01), asynckit.sleep(1)]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="boom"):
            asyncio.run(asynckit.compare(batch))
        gc.collect()


def test_a_failure_in_the_concurrent_run_cancels_the_others():
    async def fails():
        await asynckit.sleep(0.01)
        raise RuntimeError("concurrent run fails")

    batches = iter(
        [
            lambda: [asynckit.sleep(0.01), asynckit.sleep(0.01)],
            lambda: [fails(), asynckit.sleep(5, label="sibling")],
        ]
    )

    # The 5 s sibling is cancelled: the whole run ends well within the 3 s bound.
    with pytest.raises(ExceptionGroup) as info:
        asyncio.run(asyncio.wait_for(asynckit.compare(lambda: next(batches)()), 3))
    assert info.group_contains(RuntimeError, match="concurrent run fails")


def test_comparison_plot_has_both_timelines_and_the_bars():
    c = asyncio.run(asynckit.compare(naps(3, 0.01)))
    png = c._repr_png_()
    assert png.startswith(b"\x89PNG")
    fig = c.plot()
    timeline_axes = [ax for ax in fig.axes if ax.get_xlabel() == "time (s)"]
    assert len(timeline_axes) == 1  # the shared time axis is labelled once, at the bottom
    bars = [ax for ax in fig.axes if ax.get_ylabel() == "wall time (s)"]
    assert len(bars) == 1 and len(bars[0].patches) == 3
    assert [t.get_text() for t in bars[0].get_xticklabels()] == [
        "sequential",
        "concurrent",
        "ideal",
    ]


def test_a_failure_in_curios_concurrent_run_propagates_too():
    batches = iter(
        [
            lambda: [asynckit.sleep(0.01), asynckit.sleep(0.01)],
            lambda: [failing_after(0.01), asynckit.sleep(5)],
        ]
    )

    async def main():
        return await asynckit.compare(lambda: next(batches)())

    started = time.perf_counter()
    with pytest.raises(ExceptionGroup) as info:
        curio.run(main)
    assert info.group_contains(RuntimeError, match="item failed")
    assert time.perf_counter() - started < 3  # the 5 s sibling was cancelled


async def failing_after(seconds):
    await asynckit.sleep(seconds)
    raise RuntimeError("item failed")


def test_a_refused_batch_cancels_the_tasks_make_batch_started_and_only_those():
    async def job():
        await asyncio.sleep(10)

    async def main():
        theirs = asyncio.create_task(job())  # made before: the caller's to keep
        made = []

        def make_batch():
            made.extend(asyncio.create_task(job()) for _ in range(3))
            return [*made, theirs]

        with pytest.raises(TypeError, match="an asyncio Task, already running"):
            await asynckit.compare(make_batch)
        await asyncio.sleep(0)
        states = [t.cancelled() for t in made], theirs.done()
        theirs.cancel()
        return states

    assert asyncio.run(main()) == ([True, True, True], False)


def test_a_run_faster_than_the_ideal_says_why_it_can_be():
    from asynckit._compare import Comparison

    empty = asynckit.Timeline()
    cached = Comparison(empty, empty, 0.4, 0.011, 0.1, 4)  # the first run filled a cache
    assert f"{cached.efficiency:.0%}" == "909%"
    assert "beat the ideal" in str(cached) and "a cache the first run filled" in str(cached)
    fair = Comparison(empty, empty, 0.4, 0.105, 0.1, 4)
    assert "beat the ideal" not in str(fair)

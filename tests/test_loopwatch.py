"""Timeline(tasks=True) and Timeline(lag=True): watching the asyncio loop itself."""

import asyncio
import gc
import sys

import pytest

import asynckit


def test_tasks_are_recorded_with_their_lifetimes_and_outcomes():
    async def fails():
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            ok = asyncio.create_task(asyncio.sleep(0.02), name="sleeper")
            bad = asyncio.create_task(fails(), name="failer")
            slow = asyncio.create_task(asyncio.sleep(5), name="slow")
            await ok
            with pytest.raises(ValueError):
                await bad
            slow.cancel()
            await asyncio.gather(slow, return_exceptions=True)
        return tl

    tl = asyncio.run(main())
    tasks = {s.task: s for s in tl.spans if s.kind == "task"}
    assert set(tasks) == {"sleeper", "failer", "slow"}
    assert tasks["sleeper"].error is None and tasks["sleeper"].duration >= 0.015
    assert tasks["failer"].error == "ValueError"
    assert tasks["slow"].error == "cancelled"
    assert tasks["failer"].label.endswith("fails")


def test_tasks_created_inside_libraries_are_seen_too():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))  # gather makes the tasks
            await asyncio.wait_for(asyncio.sleep(0), 1)
        return tl

    assert len([s for s in asyncio.run(main()).spans if s.kind == "task"]) >= 2


def test_the_previous_task_factory_is_restored_and_composed_with():
    made = []

    def factory(loop, coro, **kwargs):
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        with asynckit.Timeline(tasks=True) as tl:
            assert loop.get_task_factory() is not factory
            before = len(made)
            result = await asyncio.create_task(asyncio.sleep(0, result="same result"))
            assert len(made) == before + 1  # the existing factory still made the task
        assert loop.get_task_factory() is factory
        return tl, result

    tl, result = asyncio.run(main())
    assert result == "same result"
    assert [s.kind for s in tl.spans] == ["task"]


def test_no_factory_stays_installed_after_the_block():
    async def main():
        with asynckit.Timeline(tasks=True):
            pass
        return asyncio.get_running_loop().get_task_factory()

    assert asyncio.run(main()) is None


def test_an_unretrieved_exception_is_still_reported():
    async def fails():
        raise KeyError("lost")

    messages = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: messages.append(ctx))
        with asynckit.Timeline(tasks=True) as tl:
            task = asyncio.create_task(fails())
            await asyncio.sleep(0.01)
        del task
        gc.collect()
        return tl

    tl = asyncio.run(main())
    assert [s.error for s in tl.spans] == ["KeyError"]
    assert any("never retrieved" in m["message"] for m in messages)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks need Python 3.12+")
def test_eager_task_factory_keeps_working():
    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.create_task(asyncio.sleep(0))
        assert loop.get_task_factory() is asyncio.eager_task_factory
        return tl

    assert [s.kind for s in asyncio.run(main()).spans] == ["task"]


def test_lag_catches_a_200_ms_blocking_call():
    async def main():
        with asynckit.Timeline(lag=True) as tl:
            await asyncio.sleep(0.05)
            asynckit.work(0.2, label="blocking")
            await asyncio.sleep(0.05)
        return tl

    tl = asyncio.run(main())
    # The worst lag is about the length of the block: generous margins on a busy machine.
    assert 0.15 <= tl.max_lag <= 0.5
    (work,) = [s for s in tl.spans if s.kind == "work"]
    (at, _worst) = max(tl.lag_samples, key=lambda sample: sample[1])
    assert work.end - 0.02 <= at <= work.end + 0.1  # the late wake comes just after the block
    assert len(tl.lag_samples) >= 5


def test_a_free_loop_has_little_lag():
    async def main():
        with asynckit.Timeline(lag=True) as tl:
            await asyncio.sleep(0.1)
        return tl

    tl = asyncio.run(main())
    assert tl.max_lag < 0.1  # nothing blocked; only the machine's own noise


def test_lag_and_tasks_need_a_running_loop():
    for option in ("tasks", "lag"):
        with pytest.raises(asynckit.AsynckitError, match="running asyncio event loop"):
            with asynckit.Timeline(**{option: True}):
                pass


def test_the_lag_trace_and_task_spans_are_drawn():
    async def main():
        with asynckit.Timeline(tasks=True, lag=True) as tl:
            await asyncio.create_task(asyncio.sleep(0.02))
            asynckit.work(0.05)
        return tl

    tl = asyncio.run(main())
    ax = tl.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.startswith("loop lag\n(max ") for label in labels)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"task", "work", "loop lag"}
    assert len(ax.lines) == 1  # the lag trace


def test_elapsed_covers_the_whole_block():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.sleep(0.05)  # no instrumented span at all
        return tl

    tl = asyncio.run(main())
    assert tl.duration == 0.0 and tl.elapsed >= 0.045


def test_tracking_keeps_no_task_alive():
    # A fire-and-forget task that nobody holds is collected as it would be without tracking.
    import weakref

    async def forever():
        await asyncio.Event().wait()

    async def main():
        with asynckit.Timeline(tasks=True):
            task = asyncio.create_task(forever())
            await asyncio.sleep(0)
            ref = weakref.ref(task)
            del task
            gc.collect()
            return ref()

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "destroyed but pending" is the point
    try:
        assert loop.run_until_complete(main()) is None
    finally:
        loop.close()

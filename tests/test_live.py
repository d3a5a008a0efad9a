"""Live timelines: the batches the kernel sends, where from, and what shows without a widget."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from array import array
from pathlib import Path

import pytest

import asynckit
from asynckit import _live
from asynckit._timeline import Recorder


class FakeWidget:
    """Stands for the widget: keeps what is sent to it, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, dict, list[bytes]]] = []
        self.closed = False

    def send(self, content, buffers):
        json.dumps(content)  # what ipykernel does with it: it must be plain JSON
        self.sent.append((time.perf_counter(), content, buffers))

    def close(self):
        self.closed = True


@pytest.fixture
def widget(monkeypatch):
    made = FakeWidget()
    monkeypatch.setattr(_live, "_new_widget", lambda title: made)
    return made


def floats(buffer: bytes) -> list[float]:
    return list(array("d", buffer))


def test_a_batch_holds_only_what_is_new_with_rows_named_as_the_plot_names_them():
    recorder = Recorder()
    feed = _live.LiveFeed(recorder, origin=100.0, main_task="Task-7")
    recorder.begin("sleep", 100.5, "Task-9")
    recorder.begin("work", 100.6, "Task-7")
    recorder.add("nap", "sleep", 100.5, 101.0, "Task-9")
    content, (started, ended) = feed.batch()
    assert content["rows"] == ["task 1", "main"]
    assert content["kinds"] == [["sleep", "#4C72B0"], ["work", "#DD8452"]]
    assert (content["started"], content["ended"]) == (2, 1)
    assert floats(started) == [0, 0.5, 0, 1, pytest.approx(0.6), 1]  # (kind, start, row)
    assert floats(ended) == [0.5, 1.0, 0, 0, 0]  # (start, end, row, kind, state)
    assert content["now"] > 0 and json.dumps(content)

    recorder.add("busy", "work", 100.6, 101.2, "Task-7", error="cancelled")
    recorder.add("fetch /posts/1", "fetch", 101.0, 101.1, None, error="FetchError")
    content, (started, ended) = feed.batch()
    assert content["rows"] == ["thread MainThread"]  # a span no task ran: its thread's row
    assert content["kinds"] == [["fetch", "#55A868"]]
    assert (content["started"], content["ended"]) == (0, 2)
    assert floats(ended)[4::5] == [2, 1]  # cancelled, failed
    content, (started, ended) = feed.batch()
    assert (content["started"], content["ended"], started, ended) == (0, 0, b"", b"")


def test_starting_a_span_costs_nothing_extra_unless_watched_live():
    async def main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0)
        return tl

    tl = asyncio.run(main())
    assert tl._recorder.opened is None


def test_a_live_timeline_sends_batches_while_it_records_then_settles(widget):
    async def job(i):
        await asynckit.sleep(0.01 * i)
        await asynckit.sleep(0.2)

    async def main():
        with asynckit.Timeline("live", live=True) as tl:
            await asyncio.gather(*(job(i) for i in range(50)))
        return tl

    threads = threading.active_count()
    tl = asyncio.run(main())
    assert threading.active_count() == threads  # sent from the loop, no thread of its own
    assert len(tl.spans) == 100 and widget.closed
    *during, (_, last, _) = widget.sent
    assert len(during) >= 3, "batches about every 100 ms over 0.7 s"
    assert last["done"] and not any(c["done"] for _, c, _ in during)
    assert sum(c["started"] for _, c, _ in widget.sent) == 100  # each span's start, once
    assert sum(c["ended"] for _, c, _ in widget.sent) == 100  # each span's end, once
    assert sum(len(c["rows"]) for _, c, _ in widget.sent) == 50
    gaps = [b - a for (a, _, _), (b, _, _) in zip(widget.sent, widget.sent[1:], strict=False)]
    assert min(gaps[:-1]) >= 0.05, "batches are spaced, not sent per span"


def test_a_blocking_call_freezes_the_live_view_with_everything_else(widget):
    async def main():
        with asynckit.Timeline(live=True) as tl:
            nap = asyncio.ensure_future(asynckit.sleep(0.3))
            await asynckit.sleep(0.15)
            asynckit.work(0.5)  # blocks the loop, and so the batches
            await nap
        return tl

    asyncio.run(main())
    times = [at for at, _, _ in widget.sent]
    assert max(b - a for a, b in itertools.pairwise(times)) >= 0.4


def test_outside_a_loop_batches_come_from_a_thread_that_is_gone_afterwards(widget):
    threads = threading.active_count()
    with asynckit.Timeline(live=True) as tl:
        for _ in range(4):
            asynckit.work(0.1)
    assert threading.active_count() == threads
    assert len(tl.spans) == 4 and widget.closed
    assert sum(c["ended"] for _, c, _ in widget.sent) == 4
    assert len(widget.sent) >= 3


def test_without_a_widget_frontend_it_records_the_same_and_shows_the_plot(monkeypatch):
    shown = []
    monkeypatch.setattr(_live, "_displays", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))

    async def main():
        with asynckit.Timeline("fallback", live=True) as tl:
            await asyncio.gather(*(asynckit.sleep(0.05) for _ in range(3)))
        return tl

    threads = threading.active_count()
    tl = asyncio.run(main())  # no kernel here: no widget
    assert shown == [tl] and len(tl.spans) == 3
    assert tl._recorder.opened is None  # nothing watched: no starts recorded
    assert threading.active_count() == threads


def test_in_a_plain_python_it_shows_nothing_and_fails_nothing():
    async def main():
        with asynckit.Timeline(live=True) as tl:
            await asynckit.sleep(0.01)
        return tl

    assert len(asyncio.run(main()).spans) == 1


def test_a_block_that_raises_still_settles(widget):
    async def main():
        with asynckit.Timeline(live=True):
            await asynckit.sleep(0.01)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        asyncio.run(main())
    assert widget.closed and widget.sent[-1][1]["done"]


def test_the_widget_class_loads_its_javascript_from_the_package():
    widget = _live.widget_class()(title="t")
    try:
        # anywidget reads the file in the package and sends its text: no CDN, no network.
        assert str(widget._esm) == Path(asynckit.__file__).with_name("_live.js").read_text()
        assert "msg:custom" in str(widget._esm)
    finally:
        widget.close()


@pytest.mark.slow
def test_nbclient_stores_the_static_plot_not_a_widget(tmp_path):
    """A kernel with no widget frontend, as nbval and `make notebooks` run it."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "import asyncio, asynckit\n"
        "with asynckit.Timeline('live', live=True) as tl:\n"
        "    await asyncio.gather(*(asynckit.sleep(0.3) for _ in range(5)))",
        "ex = await asynckit.explore(lambda n=2: [asynckit.sleep(0.01) for _ in range(n)],"
        " n=[1, 2, 3])\nex",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=False).execute()
    for cell in notebook.cells:
        kinds = [set(o.get("data", {})) for o in cell.outputs]
        assert {"image/png", "text/plain"} in kinds, kinds
        assert not any("application/vnd.jupyter.widget-view+json" in k for k in kinds), kinds
    assert "widgets" not in notebook.metadata

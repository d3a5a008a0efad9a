"""plot_timeline: what is drawn (counted, not eyeballed), and that it stays fast at scale."""

import asyncio
import io
import time

import matplotlib
import pytest
from matplotlib.figure import Figure

import asynckit
from asynckit._timeline import Timeline, active_recorder

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    """Each test draws its own figures; pyplot keeps them until closed."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def synthetic(n, tasks, name=None, error_every=0):
    """A Timeline with n spans spread over `tasks` tasks, without sleeping for them."""
    tl = Timeline(name=name)
    with tl:
        recorder = active_recorder()
        origin = tl._origin
        for i in range(n):
            start = origin + (i // tasks) * 0.01
            error = "cancelled" if error_every and i % error_every == 0 else None
            recorder.add(
                f"s{i}",
                "sleep" if i % 2 else "fetch",
                start,
                start + 0.008,
                f"task {i % tasks}",
                error,
            )
    return tl


def rectangles(collections):
    """The spans' rectangles the collections draw, each as its corners (the first again at
    the end, closing it): a collection draws its spans as one compound path."""
    return [
        box
        for collection in collections
        for path in collection.get_paths()
        for box in path.vertices.reshape(-1, 5, 2)
    ]


def test_one_row_per_task_one_collection_per_kind():
    ax = asynckit.plot_timeline(synthetic(30, 3))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["task 0", "task 1", "task 2"]
    filled = [c for c in ax.collections if c.get_label() in ("sleep", "fetch")]
    assert sorted(c.get_label() for c in filled) == ["fetch", "sleep"]
    assert len(rectangles(filled)) == 30
    assert ax.get_xlabel() == "time (s)"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"sleep", "fetch"}


def test_failed_and_cancelled_spans_are_marked_and_in_the_legend():
    tl = synthetic(10, 2, error_every=3)
    ax = asynckit.plot_timeline(tl)
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1 and len(rectangles(hatched)) == 4  # spans 0, 3, 6, 9
    assert "cancelled" in {t.get_text() for t in ax.get_legend().get_texts()}


def test_several_timelines_stack_under_their_names():
    ax = asynckit.plot_timeline(synthetic(4, 2, "first"), synthetic(6, 3, "second"))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # Each timeline has a header row (its name is written there), then its task rows.
    assert labels == ["", "task 0", "task 1", "", "task 0", "task 1", "task 2"]
    assert {t.get_text() for t in ax.texts} == {"first", "second"}


def test_many_tasks_are_packed_into_lanes():
    tl = synthetic(2_000, 1_000)  # 1,000 tasks, two spans each, one after the other
    ax = asynckit.plot_timeline(tl)
    assert ax.get_yticks().size == 0 and "1000 rows" in ax.get_ylabel()
    ax2 = asynckit.plot_timeline(tl, rows="kind")
    assert len(ax2.get_yticklabels()) == 2


def test_rows_and_arguments_are_checked():
    with pytest.raises(ValueError, match="rows"):
        asynckit.plot_timeline(synthetic(1, 1), rows="colour")
    with pytest.raises(TypeError, match="at least one"):
        asynckit.plot_timeline()
    with pytest.raises(TypeError, match="Timelines"):
        asynckit.plot_timeline([1, 2])  # type: ignore[arg-type]


def test_the_ideal_is_drawn_and_labelled():
    ax = asynckit.plot_timeline(synthetic(4, 4), ideal=0.5)
    assert any(t.get_text() == "ideal 500 ms" for t in ax.get_legend().get_texts())
    assert ax.get_xlim()[1] >= 0.5
    ax = asynckit.plot_timeline(synthetic(4, 4), ideal=1.25, ideal_label="deadline")
    assert any(t.get_text() == "deadline" for t in ax.get_legend().get_texts())


def test_rows_read_the_same_from_run_to_run():
    async def main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0)
            await asyncio.gather(asynckit.sleep(0), asynckit.sleep(0))
            await asyncio.create_task(asynckit.sleep(0), name="named")
        return tl

    tl = asyncio.run(main())
    assert {s.task for s in tl.spans} >= {"named"}
    labels = [t.get_text() for t in asynckit.plot_timeline(tl).get_yticklabels()]
    assert labels == ["main", "task 1", "task 2", "named"]


def test_an_empty_timeline_plots_an_empty_axis():
    tl = Timeline()
    with tl:
        pass
    ax = asynckit.plot_timeline(tl, title="nothing yet")
    assert ax.get_title(loc="left") == "nothing yet"


def test_ten_thousand_spans_draw_and_save_quickly():
    tl = synthetic(10_000, 10_000)
    fig = Figure(figsize=(9, 4), dpi=100)
    started = time.perf_counter()
    ax = asynckit.plot_timeline(tl, ax=fig.add_subplot())
    fig.savefig(io.BytesIO(), format="png")
    elapsed = time.perf_counter() - started
    assert len(rectangles(ax.collections)) == 10_000
    # The benchmark measures this precisely; here only a bound no busy machine should miss,
    # and one that one-bar-per-span drawing (several seconds) would.
    assert elapsed < 3.0


def test_a_real_timeline_renders_to_a_png_with_all_its_spans():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.gather(*(asynckit.sleep(0.01) for _ in range(5)))
            asynckit.work(0.01)
        return tl

    tl = asyncio.run(main())
    ax = tl.plot(title="five naps and a block")
    assert len(rectangles(ax.collections)) == 6
    assert ax.get_title(loc="left") == "five naps and a block"
    png = tl._repr_png_()
    assert png[:4] == b"\x89PNG" and len(png) > 2_000


def handed_over(recorder, label, start, thread, parent=None):
    """A call run in a worker thread, as the thread records it: no task row, the thread's
    name, the parent task (added to a recorder that may have closed)."""
    recorder.spans += (label, "thread", start, start + 0.02, None, thread, None, None, parent)


def test_thread_rows_go_below_the_tasks_with_a_line_from_the_task_that_handed_work_over():
    tl = Timeline()
    with tl:
        recorder = active_recorder()
        origin = tl._origin
        recorder.add("job", "task", origin, origin + 0.05, "Task-7")
        handed_over(recorder, "crunch", origin + 0.01, "asyncio_0", "Task-7")
        handed_over(recorder, "lookup", origin + 0.03, "asyncio_1", "Task-1")
        recorder.add("job", "task", origin + 0.02, origin + 0.06, "Task-8")
    tl._main_task = "Task-1"  # the cell's task, with no span of its own
    ax = asynckit.plot_timeline(tl)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    # Tasks in the order they first show (main when it hands work over), then the threads.
    assert rows == ["task 1", "task 2", "main", "thread asyncio_0", "thread asyncio_1"]
    (links,) = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    # Vertical, at the moment of handing over, from the task's row to the thread's bar.
    (x0, y0), (x1, y1) = links.get_segments()[0]
    assert x0 == x1 == pytest.approx(0.01) and y0 == 0 and 2.5 < y1 < 3
    (x0, y0), (x1, y1) = links.get_segments()[1]
    assert x0 == x1 == pytest.approx(0.03) and y0 == 2 and 3.5 < y1 < 4
    assert "to a thread" in {t.get_text() for t in ax.get_legend().get_texts()}
    # Rows by label or packed in lanes have no task rows to link to.
    for rows in ("label", "lanes"):
        ax = asynckit.plot_timeline(tl, rows=rows)
        assert not [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    # Past 40 rows the tasks' spans are packed into lanes, and the threads keep their rows.
    many = synthetic(100, 100)  # 100 tasks, all at once: 100 lanes
    for i in range(3):
        handed_over(many._recorder, "crunch", many._origin, f"asyncio_{i}", "task 0")
    ax = asynckit.plot_timeline(many)
    # Rows too thin to name one by one: the threads' rows named together, in their middle
    # (the 100 lanes share 30 rows' height, from -0.5 to 29.5; the threads follow).
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 threads"]
    assert list(ax.get_yticks()) == [pytest.approx(31)]
    assert ax.get_ylabel() == "103 spans in 103 rows"


@pytest.mark.parametrize("threads", [1, 2, 6])
def test_past_thirty_lanes_the_rows_below_them_keep_a_readable_height(threads):
    # A busy cell: 1,000 tasks at once (1,000 lanes), work in threads, the loop's lag.
    tl = synthetic(2_000, 1_000)
    for i in range(threads):
        handed_over(tl._recorder, "crunch", tl._origin, f"asyncio_{i}")
    tl.lag = True
    tl._loaded_lag = [(0.001 * i, 0.03 if i == 5 else 0.0) for i in range(20)]
    fig = Figure(figsize=asynckit._plot.figure_size(tl), dpi=100)
    ax = asynckit.plot_timeline(tl, ax=fig.add_subplot())
    fig.canvas.draw()
    pixels_per_row = abs(ax.transData.transform((0, 1))[1] - ax.transData.transform((0, 0))[1])
    # Each thread's row is a unit high, the lag's two: a unit is 1/(30 + threads + 2) of the
    # axes, where a row per lane would have left it 1/(1,000 + threads + 1).
    assert pixels_per_row > 10
    (thread_bars,) = [c for c in ax.collections if c.get_label() == "thread"]
    heights = [abs(box[2][1] - box[0][1]) for box in rectangles([thread_bars])]
    assert heights == [pytest.approx(0.92)] * threads
    lanes = [c for c in ax.collections if c.get_label() in ("sleep", "fetch")]
    assert len(rectangles(lanes)) == 2_000
    lowest_lane = max(box[:, 1].max() for box in rectangles(lanes))
    assert lowest_lane <= 29.5  # the lanes share 30 rows' height
    # The names on the y axis do not run into each other.
    labels = ax.get_yticklabels()
    assert labels[0].get_text() == ("thread asyncio_0" if threads == 1 else f"{threads} threads")
    assert labels[1].get_text().startswith("loop lag")
    assert not labels[0].get_window_extent().overlaps(labels[1].get_window_extent())


def test_measurements_are_drawn_beside_their_ideal_in_the_same_colour():
    ax = asynckit.plot_measurements(
        [1, 10, 100],
        {"concurrent": [0.1, 0.1, 0.12], "sequential": [0.1, 1.0, 10.0]},
        ideal={"concurrent": [0.1] * 3, "sequential": [0.1, 1.0, 10.0]},
        xlabel="tasks",
        ylabel="wall time (s)",
        log="xy",
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"concurrent", "sequential", "concurrent, ideal", "sequential, ideal"}
    assert lines["concurrent"].get_color() == lines["concurrent, ideal"].get_color()
    assert lines["sequential, ideal"].get_linestyle() == "--"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_ylabel() == "wall time (s)"


def test_measurements_check_their_lengths():
    with pytest.raises(ValueError, match="2 values for 3"):
        asynckit.plot_measurements([1, 2, 3], {"a": [1, 2]}, xlabel="x", ylabel="y")


def test_bars_are_labelled_in_seconds_and_grouped():
    ax = asynckit.plot_bars({"sequential": 2.0, "concurrent": 0.52}, ideal=0.5, ylabel="time (s)")
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["2.00 s", "520 ms"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sequential", "concurrent"]
    grouped = asynckit.plot_bars(
        {"I/O-bound": {"threads": 0.2, "processes": 0.3}, "CPU-bound": {"threads": 0.8}},
        ideal={"I/O-bound": 0.2, "CPU-bound": 0.4},
        ylabel="wall time (s)",
    )
    assert len(grouped.patches) == 4  # two groups of two; the missing bar is drawn empty
    assert {t.get_text() for t in grouped.get_legend().get_texts()} == {
        "threads",
        "processes",
        "ideal",
    }


def test_counted_x_values_get_whole_number_ticks():
    counted = asynckit.plot_measurements(
        range(1, 4), {"a": [0.1, 0.2, 0.3]}, xlabel="item", ylabel="s"
    )
    counted.figure.canvas.draw()
    assert all(float(t).is_integer() for t in counted.get_xticks()), counted.get_xticks()
    measured = asynckit.plot_measurements([0.5, 1.5], {"a": [1, 2]}, xlabel="s", ylabel="s")
    measured.figure.canvas.draw()
    assert not all(float(t).is_integer() for t in measured.get_xticks()), measured.get_xticks()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0312, "31.2 ms"),
        (0.9994, "999 ms"),
        (0.9995, "1.00 s"),
        (0.99999, "1.00 s"),
        (2.4, "2.40 s"),
    ],
)
def test_durations_read_in_ms_below_a_second_and_never_as_1e3_ms(seconds, text):
    from asynckit._plot import seconds_text

    assert seconds_text(seconds) == text

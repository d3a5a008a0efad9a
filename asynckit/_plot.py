"""Plotting: timelines drawn as one row per task, a few collections per figure, fast at scale."""

from __future__ import annotations

import heapq
import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._compare import Comparison
    from ._timeline import Span, Timeline

__all__ = [
    "KIND_COLOURS",
    "comparison_png",
    "figure_png",
    "plot_bars",
    "plot_comparison",
    "plot_measurements",
    "plot_timeline",
    "readable_rows",
    "timeline_png",
]

#: Colour of each kind of span; other kinds take colours from the fallback list in turn.
KIND_COLOURS: dict[str, str] = {
    "sleep": "#4C72B0",
    "fetch": "#55A868",
    "work": "#DD8452",
    "span": "#8172B3",
    "request": "#2E8B57",
    "wait": "#E6C44C",
    "task": "#C7CDD6",
    "thread": "#9CCFC9",
}
_FALLBACK_COLOURS = ["#64B5CD", "#CCB974", "#937860", "#DA8BC3", "#8C8C8C"]
_FAILED = "#C44E52"
_CANCELLED = "#4D4D4D"
#: How a failed or a cancelled span is marked over its kind's colour: (state, colour, hatch).
_STATES = (("failed", _FAILED, "xxx"), ("cancelled", _CANCELLED, "///"))
_LAG = "#C44E52"
#: The line from a task to the work it handed to a thread.
_LINK = "#555555"
#: Past this many rows in one timeline, spans are packed into lanes instead of one row per task.
MAX_ROWS = 40
#: Past this many lanes, the lanes share this many rows' height, so that the rows below them (a
#: thread's, and the loop lag's, then two rows high) stay readable.
LANES_HEIGHT = 30
BAR_HEIGHT = 0.7
DPI = 100


def plot_timeline(
    *timelines: Timeline,
    ax: Axes | None = None,
    title: str | None = None,
    rows: str = "auto",
    ideal: float | None = None,
    ideal_label: str | None = None,
) -> Axes:
    """Draw timelines: one row per task, one colour per kind of span, time in seconds.

    Several timelines are stacked one above the other on the same time axis, each under its
    name. Failed spans are cross-hatched in red, cancelled ones hatched in dark grey over their
    kind's colour. Work run in threads (spans with no task) has a row per thread, below the
    tasks, and a thin line joins a "thread" span to the row of the task that handed it over.
    ``rows`` chooses what a row is: ``"task"``, ``"label"``, ``"kind"``, ``"lanes"`` (spans
    packed into as few rows as never overlap) or ``"auto"`` (tasks, or past 40 rows the
    tasks' spans in lanes, above a row per thread).
    Task rows are named so that they read the same from run to run: "main" for the task that
    entered the timeline (a notebook cell's), "task 1", "task 2" ... for tasks that asyncio
    named Task-123, Task-124 ...; other names are kept.
    ``ideal`` draws a dashed line at that many seconds, for the time perfect overlap would
    take; ``ideal_label`` names it in the legend instead (say, ``"deadline 0.15 s"``).
    Spans are drawn as a few collections, so 10,000 spans draw in a fraction of a second.

    Example::

        ax = asynckit.plot_timeline(tl_asyncio, tl_trio, title="same work, two libraries")
        ax.figure.savefig("timelines.png")
    """
    if not timelines:
        raise TypeError("plot_timeline needs at least one Timeline")
    for timeline in timelines:
        if not isinstance(timeline, _Drawable):
            raise TypeError(f"plot_timeline draws Timelines, not {type(timeline).__name__}")
    if rows not in ("auto", "task", "label", "kind", "lanes"):
        raise ValueError(f"rows must be 'auto', 'task', 'label', 'kind' or 'lanes', not {rows!r}")

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figure_size(*timelines), dpi=DPI, layout="constrained")
    layout = _lay_out(timelines, rows)
    colours = _draw(ax, layout, ideal)
    legend = _add_legend(ax, layout, colours, ideal, ideal_label)
    if title is None and len(timelines) == 1:
        title = timelines[0].name
    if title:  # on a line of its own above the legend, so that neither covers the other
        ax.set_title(title, loc="left", fontsize=10, pad=18 if legend else 6)
    return ax


@runtime_checkable
class _Drawable(Protocol):
    """What drawing needs of a Timeline (checked by shape: this module draws timelines, the
    timeline module records them, and neither needs the other to load)."""

    name: str | None
    lag: bool

    @property
    def spans(self) -> list[Span]: ...
    @property
    def lag_samples(self) -> list[tuple[float, float]]: ...
    @property
    def max_lag(self) -> float: ...
    @property
    def main_task(self) -> str | None: ...


@dataclass
class _Layout:
    """Where everything goes: row names top to bottom, where each row's middle is on the y
    axis and how high it is, the header row and name of each timeline (when there are
    several), the row of each lag trace, each span's row, and the links from a task to its
    work in a thread: (time, the task's row, the thread's row).

    A row is one unit high, its middle at its index, except past LANES_HEIGHT packed lanes:
    they share LANES_HEIGHT units, and the loop lag's row below them is two units high."""

    rows: list[str] = field(default_factory=list)
    middles: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)
    headers: list[tuple[int, str]] = field(default_factory=list)
    lag_rows: list[tuple[int, Timeline]] = field(default_factory=list)
    placed: list[tuple[Span, int]] = field(default_factory=list)
    links: list[tuple[float, int, int]] = field(default_factory=list)

    def add_rows(self, names: Sequence[str], height: float = 1.0) -> None:
        """Add rows of that height below the others."""
        top = self.bottom
        for index, name in enumerate(names):
            self.rows.append(name)
            self.middles.append(top + (index + 0.5) * height)
            self.heights.append(height)

    @property
    def bottom(self) -> float:
        """The y of the lowest row's bottom edge (the top row's top edge is at -0.5)."""
        return self.middles[-1] + self.heights[-1] / 2 if self.rows else -0.5

    @property
    def kinds(self) -> list[str]:
        return sorted({s.kind for s, _ in self.placed}, key=_kind_order)

    @property
    def states(self) -> set[str | None]:
        return {_state(s) for s, _ in self.placed}

    @property
    def end(self) -> float:
        """The latest time drawn: the last span's end, or the last lag sample."""
        end = max((s.end for s, _ in self.placed), default=0.0)
        return max([end] + [t.lag_samples[-1][0] for _, t in self.lag_rows if t.lag_samples])


def _lay_out(timelines: Sequence[Timeline], rows: str) -> _Layout:
    """Rows top to bottom: per timeline, a header row with its name (when there are several),
    its span rows, and a row for the loop-lag trace (when it measured lag)."""
    layout = _Layout()
    for index, timeline in enumerate(timelines):
        if len(timelines) > 1:
            layout.headers.append((len(layout.rows), timeline.name or f"timeline {index + 1}"))
            layout.add_rows([""])
        spans = timeline.spans
        names, rows_of = _assign_rows(spans, rows)
        first_row = len(layout.rows)
        shown = _readable(names, timeline) if rows in ("auto", "task") else names
        # Packed lanes come first, named "lane 0", "lane 1" ... (a thread's row after them).
        packed = rows == "lanes" or (rows == "auto" and _too_many_rows(spans))
        lanes = sum(1 for name in names if name.startswith("lane ")) if packed else 0
        squeezed = lanes > LANES_HEIGHT
        layout.add_rows(shown[:lanes], LANES_HEIGHT / lanes if squeezed else 1.0)
        layout.add_rows(shown[lanes:])
        layout.placed.extend((s, first_row + r) for s, r in rows_of)
        if rows in ("auto", "task") and not packed:
            task_row = {name: r for r, name in reversed(list(enumerate(names)))}  # tasks first
            layout.links.extend(
                (s.start, first_row + task_row[s.parent], first_row + r)
                for s, r in rows_of
                if s.parent is not None
            )
        if timeline.lag:
            layout.lag_rows.append((len(layout.rows), timeline))
            name = f"loop lag\n(max {timeline.max_lag * 1000:.0f} ms)"
            layout.add_rows([name], 2.0 if squeezed else 1.0)
    return layout


def _draw(ax: Axes, layout: _Layout, ideal: float | None) -> dict[str, str]:
    """Draw the spans, their failures, the lag traces and the ideal, and set up both axes.
    Returns the colour of each kind of span.

    Both axes' limits are set here, so the spans' collections skip the data limits that
    matplotlib would otherwise work out from every rectangle."""
    import numpy as np
    from matplotlib.collections import PathCollection

    placed = layout.placed
    kinds = layout.kinds
    colours = _colours(kinds)
    for kind in kinds:
        chosen = [(s, r) for s, r in placed if s.kind == kind]
        behind = kind in ("task", "thread")  # behind the spans run in that task or call
        ax.add_collection(
            PathCollection(
                [_boxes(np, layout, chosen, 0.92 if behind else BAR_HEIGHT)],
                facecolors=colours[kind],
                edgecolors=_darker(colours[kind]),
                linewidths=0.6,  # parts back-to-back spans; a span too short still shows
                label=kind,
                zorder=1 if behind else 2,
            ),
            autolim=False,
        )
    for state, colour, hatch in _STATES:
        chosen = [(s, r) for s, r in placed if _state(s) == state]
        if chosen:
            ax.add_collection(
                PathCollection(
                    [_boxes(np, layout, chosen, BAR_HEIGHT)],
                    facecolors="none",
                    edgecolors=colour,
                    hatch=hatch,
                    linewidths=1.2,
                    zorder=3,
                ),
                autolim=False,
            )
    for row, timeline in layout.lag_rows:
        _draw_lag(ax, np, layout.middles[row], layout.heights[row], timeline)
    if layout.links:
        _draw_links(ax, np, layout)

    end = layout.end
    if ideal is not None:
        ax.axvline(ideal, color="black", linestyle="--", linewidth=1)
        end = max(end, ideal)
    ax.set_xlim(0, end * 1.02 if end > 0 else 1.0)
    _draw_rows(ax, layout)
    ax.grid(axis="x", alpha=0.3)
    return colours


def _draw_rows(ax: Axes, layout: _Layout) -> None:
    """The y axis: row names (or a count, past MAX_ROWS rows), and each timeline's header."""
    row_names = layout.rows
    ax.set_ylim(layout.bottom if row_names else 0.5, -0.5)
    ax.set_xlabel("time (s)")
    if len(row_names) <= MAX_ROWS:
        ax.set_yticks(layout.middles, row_names)
    else:
        ax.set_yticks(*_named_past_max(layout))
        ax.set_ylabel(f"{len(layout.placed)} spans in {len(row_names)} rows")
    for row, name in layout.headers:
        middle = layout.middles[row]
        if row:
            ax.axhline(middle - layout.heights[row] / 2, color="#999999", linewidth=0.8)
        ax.annotate(
            name,
            xy=(0.0, middle),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
            zorder=5,
        )
    ax.tick_params(axis="y", length=0)


def _named_past_max(layout: _Layout) -> tuple[list[float], list[str]]:
    """Where the y axis names rows when the tasks' rows are packed lanes: each loop-lag row,
    and each timeline's thread rows, as one name ("6 threads") in the middle of them."""
    row_names, middles = layout.rows, layout.middles
    ticks: list[float] = []
    names: list[str] = []
    run: list[int] = []  # thread rows one after the other
    for row, name in enumerate([*row_names, ""]):
        if name.startswith("thread "):
            run.append(row)
            continue
        if run:
            ticks.append((middles[run[0]] + middles[run[-1]]) / 2)
            names.append(row_names[run[0]] if len(run) == 1 else f"{len(run)} threads")
            run = []
        if name.startswith("loop lag"):
            ticks.append(middles[row])
            names.append(name)
    return ticks, names


def _add_legend(
    ax: Axes,
    layout: _Layout,
    colours: Mapping[str, str],
    ideal: float | None,
    ideal_label: str | None,
) -> bool:
    """One line of legend above the plot: the kinds drawn, failures, the ideal, the lag.
    Returns whether there was anything to show."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [Patch(facecolor=colours[k], label=k) for k in layout.kinds]
    states = layout.states
    for state, colour, hatch in _STATES:
        if state in states:
            handles.append(Patch(facecolor="white", edgecolor=colour, hatch=hatch, label=state))
    if ideal is not None:
        name = ideal_label if ideal_label is not None else f"ideal {seconds_text(ideal)}"
        handles.append(Line2D([], [], color="black", linestyle="--", label=name))
    if layout.lag_rows:
        handles.append(Line2D([], [], color=_LAG, linewidth=2, label="loop lag"))
    if layout.links:
        handles.append(
            Line2D([], [], color=_LINK, marker="o", markersize=3, lw=0.8, label="to a thread")
        )
    if handles:
        ax.legend(
            handles=handles,
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=len(handles),
            fontsize=8,
            frameon=False,
            handlelength=1.2,
            borderaxespad=0.2,
        )
    return bool(handles)


def seconds_text(seconds: float) -> str:
    """A duration as people read it: "31 ms" below a second, "2.40 s" above."""
    if seconds < 0.9995:  # what would round to "1e+03 ms" reads "1.00 s"
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.2f} s"


def figure_size(*timelines: Timeline) -> tuple[float, float]:
    """A figure size that gives each row of the timelines a readable height."""
    total = 0
    for timeline in timelines:
        names, _ = _assign_rows(timeline.spans, "auto")
        total += len(names) + (len(timelines) > 1) + timeline.lag
    return (9.0, min(1.4 + 0.28 * max(total, 1), 7.0))


def timeline_png(*timelines: Timeline) -> bytes:
    """The timelines drawn as a PNG (what Jupyter shows for a Timeline)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figure_size(*timelines), dpi=DPI, layout="constrained")
    plot_timeline(*timelines, ax=fig.add_subplot())
    return figure_png(fig)


def figure_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes at the course's resolution."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _assign_rows(spans: Sequence[Span], rows: str) -> tuple[list[str], list[tuple[Span, int]]]:
    if rows == "lanes":
        return _pack_lanes(spans)
    if rows == "auto" and _too_many_rows(spans):
        return _lanes_then_threads(spans)
    if rows in ("auto", "task"):
        return _task_rows(spans)
    key = {"label": _label, "kind": _kind}[rows]
    index: dict[str, int] = {}
    placed = [(s, index.setdefault(key(s), len(index))) for s in spans]
    return list(index), placed


def _too_many_rows(spans: Sequence[Span]) -> bool:
    return len({s.lane for s in spans}) > MAX_ROWS


def _task_rows(spans: Sequence[Span]) -> tuple[list[str], list[tuple[Span, int]]]:
    """A row per task in the order they first show (a task that handed work to a thread shows
    from then, even with no span of its own), then a row per thread below them all."""
    tasks: dict[str, int] = {}
    threads: dict[str, int] = {}
    for s in spans:
        if s.task is not None:
            tasks.setdefault(s.task, len(tasks))
        else:
            if s.parent is not None:
                tasks.setdefault(s.parent, len(tasks))
            threads.setdefault(s.lane, len(threads))
    below = len(tasks)
    placed = [(s, tasks[s.task] if s.task is not None else below + threads[s.lane]) for s in spans]
    return [*tasks, *threads], placed


_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")


def _readable(names: list[str], timeline: Timeline) -> list[str]:
    return readable_rows(names, timeline.main_task)


def readable_rows(names: Sequence[str], main_task: str | None) -> list[str]:
    """Row names a reader can follow from run to run: the task that entered the timeline is
    "main", and tasks asyncio named Task-123, Task-124 ... are "task 1", "task 2" ..."""
    counter = itertools.count(1)
    return [
        "main"
        if name == main_task
        else f"task {next(counter)}"
        if _DEFAULT_TASK_NAME.fullmatch(name)
        else name
        for name in names
    ]


def _lanes_then_threads(spans: Sequence[Span]) -> tuple[list[str], list[tuple[Span, int]]]:
    """Past MAX_ROWS rows: the tasks' spans packed into lanes, and still a row per thread."""
    names, placed = _pack_lanes([s for s in spans if s.task is not None])
    threads: dict[str, int] = {}
    below = len(names)
    for s in spans:
        if s.task is None:
            placed.append((s, below + threads.setdefault(s.lane, len(threads))))
    return [*names, *threads], placed


def _pack_lanes(spans: Sequence[Span]) -> tuple[list[str], list[tuple[Span, int]]]:
    """Put each span in the first lane that is free at its start (spans come in start order)."""
    free: list[tuple[float, int]] = []  # (end of the lane's last span, lane)
    lanes = 0
    placed = []
    for s in spans:
        if free and free[0][0] <= s.start:
            _, lane = heapq.heappop(free)
        else:
            lane, lanes = lanes, lanes + 1
        heapq.heappush(free, (s.end, lane))
        placed.append((s, lane))
    return [f"lane {i}" for i in range(lanes)], placed


def _label(span: Span) -> str:
    return span.label


def _kind(span: Span) -> str:
    return span.kind


def _state(span: Span) -> str | None:
    if span.error is None:
        return None
    return "cancelled" if span.error == "cancelled" else "failed"


def _kind_order(kind: str) -> tuple[int, str]:
    known = list(KIND_COLOURS)
    return (known.index(kind) if kind in known else len(known), kind)


def _colours(kinds: Sequence[str]) -> dict[str, str]:
    extra = iter(_FALLBACK_COLOURS * (1 + len(kinds) // len(_FALLBACK_COLOURS)))
    return {k: KIND_COLOURS[k] if k in KIND_COLOURS else next(extra) for k in kinds}


def _darker(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(colour)
    return (red * 0.6, green * 0.6, blue * 0.6)


def _draw_lag(ax: Axes, np: Any, middle: float, height: float, timeline: Timeline) -> None:
    """The loop's lag as a filled trace inside its row (its middle at ``middle``), whose
    height stands for the worst lag (at least 20 ms, so that a free loop reads as flat)."""
    samples = np.array(timeline.lag_samples, dtype=float).reshape(-1, 2)
    scale = max(timeline.max_lag, 0.02)
    base = middle + 0.45 * height
    heights = base - 0.9 * height * samples[:, 1] / scale
    # A late wake at time t means the loop was held up for the lag before it: steps, not ramps.
    ax.fill_between(samples[:, 0], base, heights, step="pre", color=_LAG, alpha=0.35, lw=0)
    ax.plot(samples[:, 0], heights, drawstyle="steps-pre", color=_LAG, linewidth=1)


def _draw_links(ax: Axes, np: Any, layout: _Layout) -> None:
    """A thin line from a task's row, where it handed work to a thread, to the near edge of
    that work's bar in the thread's row (drawn 0.92 high, behind what ran inside it)."""
    from matplotlib.collections import LineCollection

    middles = np.array(layout.middles, dtype=float)
    at, task_index, thread_index = np.array(layout.links, dtype=float).reshape(-1, 3).T
    task_row, thread_row = middles[task_index.astype(int)], middles[thread_index.astype(int)]
    edge = np.where(thread_row > task_row, thread_row - 0.46, thread_row + 0.46)
    segments = np.stack([np.column_stack((at, task_row)), np.column_stack((at, edge))], axis=1)
    ax.add_collection(LineCollection(segments, colors=_LINK, linewidths=0.8, zorder=1.5))
    ax.scatter(at, task_row, s=8, color=_LINK, linewidths=0, zorder=4)


def _boxes(np: Any, layout: _Layout, placed: Sequence[tuple[Span, int]], height: float) -> Any:
    """The rectangles of spans at their rows, ``height`` of their row's height, as one
    compound path (built with numpy in one go, and drawn in one pass however many)."""
    from matplotlib.path import Path

    data = np.array([(s.start, s.end, r) for s, r in placed], dtype=float).reshape(-1, 3)
    x0, x1, rows = data[:, 0], data[:, 1], data[:, 2].astype(int)
    y = np.array(layout.middles, dtype=float)[rows]
    half = np.array(layout.heights, dtype=float)[rows] * height / 2
    corners = np.empty((len(data), 5, 2))  # each rectangle: four corners, then closed
    corners[:, [0, 3, 4], 0] = x0[:, None]
    corners[:, [1, 2], 0] = x1[:, None]
    corners[:, [0, 1, 4], 1] = (y - half)[:, None]
    corners[:, [2, 3], 1] = (y + half)[:, None]
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    return Path(corners.reshape(-1, 2), np.tile(np.array(codes, Path.code_type), len(data)))


def plot_comparison(comparison: Comparison, fig: Figure | None = None) -> Figure:
    """Draw a Comparison: both timelines on one time axis, and a bar chart of the two totals
    beside the ideal (the longest single item). Returns the Figure."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=_comparison_size(comparison), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(3.2, 1), height_ratios=_heights(comparison))
    top = fig.add_subplot(grid[0, 0])
    bottom = fig.add_subplot(grid[1, 0], sharex=top)
    bars = fig.add_subplot(grid[:, 1])
    plot_timeline(comparison.sequential, ax=top, title="sequential")
    plot_timeline(
        comparison.concurrent, ax=bottom, title="concurrent", ideal=comparison.longest_item_s
    )
    end = max(comparison.sequential_s, comparison.concurrent_s) * 1.02
    top.set_xlim(0, end)
    top.set_xlabel("")

    names = ["sequential", "concurrent", "ideal"]
    values = [comparison.sequential_s, comparison.concurrent_s, comparison.longest_item_s]
    drawn = bars.bar(names, values, color=["#4C72B0", "#55A868", "white"], edgecolor="black")
    drawn[2].set_linestyle("--")
    bars.bar_label(drawn, labels=[seconds_text(v) for v in values], fontsize=8)
    bars.set_ylabel("wall time (s)")
    bars.tick_params(axis="x", labelsize=8)
    bars.set_title(
        f"speedup {comparison.speedup:.1f}x\nideal {comparison.ideal_speedup:.1f}x",
        loc="left",
        fontsize=10,
    )
    bars.margins(y=0.15)
    if comparison.label:
        fig.suptitle(comparison.label)
    return fig


def comparison_png(comparison: Comparison) -> bytes:
    """A Comparison drawn as a PNG (what Jupyter shows for it)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_comparison_size(comparison), dpi=DPI, layout="constrained")
    return figure_png(plot_comparison(comparison, fig))


def _comparison_size(comparison: Comparison) -> tuple[float, float]:
    rows = sum(_heights(comparison))
    return (10.0, min(2.2 + 0.25 * rows, 6.0))


def _heights(comparison: Comparison) -> tuple[int, int]:
    """Relative heights of the two timeline panels: by rows, but past a dozen rows a panel
    grows no more (its bars get thinner), so that 100 items stay one readable figure."""

    def rows(timeline: Timeline) -> int:
        return min(max(len(_assign_rows(timeline.spans, "auto")[0]), 1), 12) + 2

    return rows(comparison.sequential), rows(comparison.concurrent)


def plot_measurements(
    x: Sequence[float],
    measured: Mapping[str, Sequence[float]],
    *,
    ideal: Mapping[str, Sequence[float]] | None = None,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    log: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Draw measured series as lines with markers, each beside its ideal as a dashed line.

    ``measured`` and ``ideal`` map a name to one value per ``x``; an ideal with the same name
    as a measured series takes its colour. Name the axes with their units. ``log`` is ``""``,
    ``"x"``, ``"y"`` or ``"xy"`` for logarithmic axes. A linear x axis of whole numbers (a
    count of items or tasks) gets whole-number ticks.

    Example::

        n = [1, 10, 100]
        asynckit.plot_measurements(n, {"concurrent": [0.1, 0.1, 0.12]}, ideal={"concurrent":
            [0.1] * 3}, xlabel="tasks", ylabel="wall time (s)", log="x")
    """
    if log not in ("", "x", "y", "xy"):
        raise ValueError(f"log must be '', 'x', 'y' or 'xy', not {log!r}")
    series = {"measured": measured, "ideal": ideal or {}}
    for which, values in series.items():
        for name, ys in values.items():
            if len(ys) != len(x):
                raise ValueError(
                    f"{which} series {name!r} has {len(ys)} values for {len(x)} x values"
                )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3.8), dpi=DPI, layout="constrained")
    colours: dict[str, Any] = {}
    for name, ys in measured.items():
        (line,) = ax.plot(x, ys, marker="o", label=name)
        colours[name] = line.get_color()
    for name, ys in (ideal or {}).items():
        ax.plot(
            x,
            ys,
            linestyle="--",
            color=colours.get(name, "#555555"),
            label=f"{name}, ideal" if name in measured else name,
        )
    if "x" in log:
        _plain_log_axis(ax.xaxis, list(x))
    elif all(float(v).is_integer() for v in x):  # counted things: no tick at 2.5 items
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if "y" in log:
        drawn = [v for ys in [*measured.values(), *(ideal or {}).values()] for v in ys]
        _plain_log_axis(ax.yaxis, drawn)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both" if log else "major")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return ax


def _plain_log_axis(axis: Any, values: Sequence[float]) -> None:
    """A logarithmic axis labelled 20, 50, 100, 200 rather than 2x10^1 ... 10^2: ticks at 1, 2
    and 5 of each power of ten over a few decades, at the powers alone over more."""
    import math

    from matplotlib import ticker

    if axis is axis.axes.xaxis:
        axis.axes.set_xscale("log")
    else:
        axis.axes.set_yscale("log")
    positive = [v for v in values if v == v and v > 0]
    decades = math.log10(max(positive) / min(positive)) if positive else 0.0
    axis.set_major_locator(
        ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,))
    )
    axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def plot_bars(
    values: Mapping[str, float] | Mapping[str, Mapping[str, float]],
    *,
    ideal: float | Mapping[str, float] | None = None,
    ylabel: str,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw measured values as labelled bars, with the ideal as a dashed line.

    ``values`` maps a bar's name to its value, or a group's name to such a mapping (grouped
    bars, one colour per inner name). ``ideal`` is one value for all, or one per group. Values
    are written on the bars; seconds read as "31 ms" or "2.40 s" when ``ylabel`` ends in
    "(s)".

    Example::

        asynckit.plot_bars({"sequential": 2.0, "concurrent": 0.52}, ideal=0.5,
                           ylabel="wall time (s)")
    """
    import numpy as np

    if not values:
        raise ValueError("plot_bars needs at least one value")
    groups: dict[str, Mapping[str, float]] = {
        name: (value if isinstance(value, Mapping) else {"": value})
        for name, value in values.items()
    }
    inner = list(dict.fromkeys(k for group in groups.values() for k in group))
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3.5), dpi=DPI, layout="constrained")
    width = 0.8 / len(inner)
    positions = np.arange(len(groups))
    in_seconds = ylabel.rstrip().endswith("(s)")
    for i, key in enumerate(inner):
        heights = [group.get(key, np.nan) for group in groups.values()]
        drawn = ax.bar(positions + (i - (len(inner) - 1) / 2) * width, heights, width, label=key)
        texts = [
            "" if np.isnan(h) else seconds_text(h) if in_seconds else f"{h:.3g}" for h in heights
        ]
        ax.bar_label(drawn, labels=texts, fontsize=8)
    if ideal is not None:
        per_group = ideal if isinstance(ideal, Mapping) else dict.fromkeys(groups, ideal)
        for position, name in zip(positions, groups, strict=True):
            if name in per_group:
                ax.plot(
                    [position - 0.45, position + 0.45],
                    [per_group[name]] * 2,
                    color="black",
                    linestyle="--",
                    label="ideal" if position == 0 else None,
                )
    ax.set_xticks(positions, list(groups))
    ax.set_ylabel(ylabel)
    ax.margins(y=0.15)
    if len(inner) > 1 or ideal is not None:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return ax

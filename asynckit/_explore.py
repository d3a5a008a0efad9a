"""Sliders on a comparison: re-run compare() at another N, latency or limit, and redraw it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from ._compare import Comparison, _close_all, compare
from ._live import LIVE_JS, display, in_kernel

__all__ = ["Explorer", "explore"]

MakeBatch = Callable[..., Iterable[Awaitable[Any]]]

_EXPLORE_JS = LIVE_JS.with_name("_explore.js")


class Explorer:
    """What :func:`explore` returns: the comparison at the sliders' values, re-run on demand.

    In JupyterLab it shows the sliders above the comparison's plot and its printed line; when
    a slider is released, the comparison runs again at the new value (a run still under way is
    cancelled first) and both redraw. Without a widget frontend (nbclient, GitHub, a terminal)
    it shows the plot of the comparison at the first values, and nothing else.

    ``comparison`` is the latest finished comparison and ``values`` the values it ran at.
    ``await explorer.update(n=100)`` runs it at other values from code, as a slider does.

    Example::

        ex = await asynckit.explore(lambda n=10: [asynckit.sleep(0.01) for _ in range(n)],
                                    n=[1, 10, 100, 1_000])
        ex   # a slider for n, the two timelines and the speedup beside the ideal
    """

    def __init__(
        self,
        make_batch: MakeBatch,
        sliders: dict[str, list[Any] | tuple[float, float]],
        values: dict[str, Any],
        comparison: Comparison,
        label: str | None,
    ) -> None:
        self.make_batch = make_batch
        self.sliders = sliders
        self.values = dict(values)
        self.comparison = comparison
        self.label = label
        self.runs = 1
        self._task: asyncio.Task[Comparison] | None = None
        self._board: Any | None = None
        self._controls: dict[str, Any] = {}

    async def update(self, **values: Any) -> Comparison:
        """Run the comparison again with these values changed (the others stay), cancelling a
        run still under way, and redraw; return the new Comparison."""
        return await self.start(**values)

    def start(self, **values: Any) -> asyncio.Task[Comparison]:
        """Start a run with these values changed and return its task; a run still under way
        is cancelled first. What a slider calls when it is released."""
        wanted = {**self.values, **values}
        for name, value in values.items():
            _check_value(name, value, self.sliders)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._run(wanted))
        return self._task

    async def _run(self, values: dict[str, Any]) -> Comparison:
        board = self._board
        if board is not None:
            board.busy = True
            board.caption = "running at " + _values_text(values) + " ..."
        try:
            comparison = await compare(lambda: self.make_batch(**values), label=self.label)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            if board is not None:
                board.busy = False
                board.caption = f"{_values_text(values)}: {type(error).__name__}: {error}"
            raise
        self.comparison, self.values = comparison, values
        self.runs += 1
        if board is not None:
            self._show(comparison)
        return comparison

    def _show(self, comparison: Comparison) -> None:
        from ._plot import comparison_png

        board = self._board
        if board is None:
            return
        board.png = base64.b64encode(comparison_png(comparison)).decode("ascii")
        board.caption = f"{_values_text(self.values)}: {comparison}"
        board.busy = False

    def __str__(self) -> str:
        return f"{_values_text(self.values)}: {self.comparison}"

    def __repr__(self) -> str:
        return f"<Explorer {self}>"

    def _repr_png_(self) -> bytes:
        from ._plot import comparison_png

        return comparison_png(self.comparison)

    def _ipython_display_(self) -> None:
        """The plot at the current values; the sliders too, once a widget frontend answers."""
        board = _new_board() if in_kernel() else None
        if board is None:
            display(self.comparison)
            return
        handle = display(self.comparison, display_id=True)
        self._board = board
        self._show(self.comparison)

        def frontend_ready(_: Any, content: Any, buffers: Any) -> None:
            if isinstance(content, dict) and content.get("ready") and handle is not None:
                handle.update(self._widget())

        board.on_msg(frontend_ready)

    def _widget(self) -> Any:
        import ipywidgets

        if not self._controls:
            for name, spec in self.sliders.items():
                control = _slider(name, spec, self.values[name])
                control.observe(self._released, names="value")
                self._controls[name] = control
        return ipywidgets.VBox([ipywidgets.HBox(list(self._controls.values())), self._board])

    def _released(self, change: dict[str, Any]) -> None:
        name = change["owner"].description
        self.start(**{name: change["new"]})


async def explore(
    make_batch: MakeBatch,
    *,
    label: str | None = None,
    **sliders: Sequence[Any] | tuple[float, float],
) -> Explorer:
    """Put sliders on a comparison: run :func:`compare` now, and again whenever a slider is
    released, with the new value passed to ``make_batch``.

    Each keyword names a parameter of ``make_batch`` and gives its slider: a list of values
    (``n=[1, 10, 100]``, a slider that steps through them) or a ``(low, high)`` pair of numbers
    (``latency_ms=(1, 500)``, every whole number between, or every hundredth for floats). A
    slider starts at the parameter's default, or at its first value when it has none. The
    comparison re-runs only when a slider is released, never while it is dragged, and a run
    still under way is cancelled when a new value comes. Await it in a cell and end the cell
    with the result: without a widget frontend (nbclient, GitHub) the result shows the plot at
    the first values.

    Example::

        ex = await asynckit.explore(lambda n=10: [asynckit.sleep(0.01) for _ in range(n)],
                                    n=[1, 10, 100, 1_000])
        ex   # move the slider: both timelines and the speedup redraw
    """
    if not callable(make_batch):
        _close_all(make_batch)
        raise TypeError(
            "explore() needs a function that returns a fresh batch for the sliders' values, "
            "for example lambda n=10: [asynckit.sleep(0.1) for _ in range(n)]"
        )
    if not sliders:
        raise TypeError(
            "explore() needs at least one slider, such as n=[1, 10, 100] or latency_ms=(1, 500),"
            " each named after a parameter of make_batch"
        )
    parameters = _parameters(make_batch)
    checked: dict[str, list[Any] | tuple[float, float]] = {}
    values: dict[str, Any] = {}
    for name, spec in sliders.items():
        checked[name] = spec = _check_spec(name, spec)
        parameter = parameters.get(name) if parameters is not None else None
        if parameters is not None and parameter is None:
            raise TypeError(
                f"make_batch has no parameter {name!r} for the slider of that name: give it "
                f"one, for example lambda {name}=...: [...]"
            )
        default = parameter.default if parameter is not None else inspect.Parameter.empty
        if default is inspect.Parameter.empty:
            default = spec[0]
        _check_value(name, default, checked)
        values[name] = default
    comparison = await compare(lambda: make_batch(**values), label=label)
    return Explorer(make_batch, checked, values, comparison, label)


def _parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter] | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        return None
    return dict(signature.parameters)


def _check_spec(name: str, spec: object) -> list[Any] | tuple[float, float]:
    if isinstance(spec, tuple) and len(spec) == 2 and all(_is_number(v) for v in spec):
        low, high = spec
        if not low < high:
            raise ValueError(f"the slider {name}=({low}, {high}) needs low < high")
        return (low, high)
    if isinstance(spec, list | range) and len(spec) >= 2:
        return list(spec)
    raise TypeError(
        f"the slider {name}= must be a list of at least two values, such as [1, 10, 100], or a "
        f"(low, high) pair of numbers, such as (1, 500); got {spec!r}"
    )


def _check_value(name: str, value: object, sliders: dict[str, Any]) -> None:
    spec = sliders.get(name)
    if spec is None:
        raise TypeError(f"there is no slider {name!r}; the sliders are {', '.join(sliders)}")
    if isinstance(spec, tuple):
        if not _is_number(value) or not spec[0] <= value <= spec[1]:
            raise ValueError(f"{name}={value!r} is outside its slider, {spec[0]} to {spec[1]}")
    elif value not in spec:
        raise ValueError(f"{name}={value!r} is not one of its slider's values {spec}")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _values_text(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{name}={value:,}" if isinstance(value, int) else f"{name}={value}"
        for name, value in values.items()
    )


def _slider(name: str, spec: list[Any] | tuple[float, float], value: Any) -> Any:
    import ipywidgets

    style = {"description_width": "initial"}
    layout = ipywidgets.Layout(width="420px")
    if isinstance(spec, list):
        return ipywidgets.SelectionSlider(
            options=[(f"{v:,}" if isinstance(v, int) else str(v), v) for v in spec],
            value=value,
            description=name,
            continuous_update=False,
            style=style,
            layout=layout,
        )
    low, high = spec
    if isinstance(low, int) and isinstance(high, int):
        return ipywidgets.IntSlider(
            value=value,
            min=low,
            max=high,
            description=name,
            continuous_update=False,
            style=style,
            layout=layout,
        )
    return ipywidgets.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=(high - low) / 100,
        description=name,
        continuous_update=False,
        style=style,
        layout=layout,
    )


_board_class: list[type] = []


def _new_board() -> Any | None:
    """The widget that shows the comparison (and tells the kernel a frontend draws widgets),
    or None without anywidget installed."""
    if not _board_class:
        try:
            import anywidget
            import traitlets
        except ImportError:
            return None

        class ComparisonBoard(anywidget.AnyWidget):
            """The comparison's plot and printed line, greyed out while a run is under way."""

            _esm = _EXPLORE_JS
            png = traitlets.Unicode("").tag(sync=True)
            caption = traitlets.Unicode("").tag(sync=True)
            busy = traitlets.Bool(False).tag(sync=True)

        _board_class.append(ComparisonBoard)
    with contextlib.suppress(Exception):
        return _board_class[0]()
    return None

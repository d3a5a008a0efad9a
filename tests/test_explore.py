"""explore(): sliders on a comparison, re-run at new values, a run under way cancelled."""

from __future__ import annotations

import asyncio

import pytest

import asynckit
from asynckit import _explore


def naps(n=3, seconds=0.02):
    return [asynckit.sleep(seconds) for _ in range(n)]


def test_it_runs_the_comparison_at_the_defaults_then_at_new_values():
    async def main():
        ex = await asynckit.explore(naps, n=[1, 3, 10])
        first = ex.comparison
        again = await ex.update(n=10)
        return ex, first, again

    ex, first, again = asyncio.run(main())
    assert first.items == 3 and again.items == 10
    assert ex.comparison is again and ex.values == {"n": 10} and ex.runs == 2
    assert str(ex).startswith("n=10: 10 items")


def test_a_run_under_way_is_cancelled_when_a_new_value_comes():
    async def main():
        ex = await asynckit.explore(naps, seconds=(0.001, 1.0))
        slow = ex.start(seconds=1.0)  # ten naps of a second, one after another: 10 s
        await asyncio.sleep(0.1)
        quick = ex.start(seconds=0.01)
        result = await quick
        return ex, slow, result

    ex, slow, result = asyncio.run(main())
    assert slow.cancelled()
    assert result.items == 3 and ex.values == {"seconds": 0.01}
    assert result.sequential_s < 0.5


def test_the_first_value_is_used_when_the_parameter_has_no_default():
    async def main():
        return await asynckit.explore(lambda n: naps(n), n=[2, 4])

    assert asyncio.run(main()).comparison.items == 2


@pytest.mark.parametrize(
    ("sliders", "error", "message"),
    [
        ({}, TypeError, "at least one slider"),
        ({"m": [1, 2]}, TypeError, "no parameter 'm'"),
        ({"n": [1]}, TypeError, "at least two values"),
        ({"n": (5, 1)}, ValueError, "low < high"),
        ({"n": [1, 2]}, ValueError, "n=3 is not one of"),
        ({"n": (4, 10)}, ValueError, "outside its slider"),
    ],
)
def test_wrong_sliders_are_refused_with_what_to_do(sliders, error, message):
    with pytest.raises(error, match=message):
        asyncio.run(asynckit.explore(naps, **sliders))


def test_a_value_outside_a_slider_is_refused_before_anything_runs():
    async def main():
        ex = await asynckit.explore(naps, n=[1, 3])
        with pytest.raises(ValueError, match="not one of"):
            ex.start(n=7)
        with pytest.raises(TypeError, match="no slider 'm'"):
            ex.start(m=1)
        return ex

    assert asyncio.run(main()).runs == 1


def test_make_batch_must_be_a_function():
    with pytest.raises(TypeError, match="needs a function"):
        asyncio.run(asynckit.explore([asynckit.sleep(0)], n=[1, 2]))  # type: ignore[arg-type]


def test_without_a_widget_frontend_it_shows_the_comparison(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    ex = asyncio.run(asynckit.explore(naps, n=[1, 3]))
    ex._ipython_display_()  # no kernel here
    assert shown == [ex.comparison]
    assert ex._repr_png_().startswith(b"\x89PNG")


def test_sliders_never_rerun_while_dragged():
    sliders = [
        _explore._slider("n", [1, 10, 100], 10),
        _explore._slider("ms", (1, 500), 20),
        _explore._slider("p", (0.0, 1.0), 0.5),
    ]
    assert all(s.continuous_update is False for s in sliders)
    assert [type(s).__name__ for s in sliders] == ["SelectionSlider", "IntSlider", "FloatSlider"]
    assert sliders[0].value == 10 and sliders[1].max == 500

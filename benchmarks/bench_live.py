"""What watching live costs: the kernel's side, and the browser's time to draw a frame.

python benchmarks/bench_live.py [--quick]

- live_overhead_ratio: 10,000 concurrent sleeps under Timeline(live=True), with a live widget
  attached, over the same under Timeline(). Outside a kernel the widget's messages would go
  nowhere, so its comm serialises each one as ipykernel does (JSON, plus the binary buffers).
- live_frame_ms: the median time the widget's own JavaScript (asynckit/_live.js) takes to draw a
  frame of 10,000 spans in headless Chromium (Debian's /usr/bin/chromium), packed into lanes,
  until its pixels can be read back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from _common import interleaved

import asynckit
from asynckit import _live

CHROMIUM = Path("/usr/bin/chromium")


class SerialisingComm:
    """A comm that does with each message what ipykernel does before sending it."""

    kernel = True  # ipywidgets sends only through a comm with a kernel
    comm_id = "bench"

    def __init__(self) -> None:
        self.bytes_sent = 0

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.bytes_sent += len(json.dumps(data)) + sum(len(bytes(b)) for b in buffers or [])

    def on_msg(self, callback: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


def _attached_widget(title: str) -> Any:
    return _live.widget_class()(title=title, comm=SerialisingComm())


async def _sleeps(n: int, live: bool) -> None:
    with asynckit.Timeline(live=live):
        await asyncio.gather(*(asynckit.sleep(0.2) for _ in range(n)))


def overhead(n: int, repeats: int) -> float:
    _live._new_widget = _attached_widget  # type: ignore[assignment]
    _attached_widget("warm-up").close()  # importing anywidget happens once, not per timeline
    medians = interleaved(
        {
            "plain": lambda: asyncio.run(_sleeps(n, live=False)),
            "live": lambda: asyncio.run(_sleeps(n, live=True)),
        },
        repeats,
    )
    return medians["live"] / medians["plain"]


async def _recorded(n: int) -> tuple[dict[str, Any], list[bytes]]:
    """One batch holding every span of n concurrent sleeps, as the kernel would send it."""
    with asynckit.Timeline() as tl:
        feed = _live.LiveFeed(tl._recorder, perf_origin(tl), tl.main_task)
        await asyncio.gather(*(asynckit.sleep(0.05) for _ in range(n)))
        return feed.batch()


def perf_origin(timeline: asynckit.Timeline) -> float:
    return timeline._origin or 0.0


DRAW = """async ([source, content, started, ended, frames]) => {
  const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
  const live = await import(url);
  const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
  const state = live.newState();
  live.ingest(state, content, [bytes(started), bytes(ended)]);
  const holder = document.createElement('div');
  holder.style.width = '900px';
  document.body.appendChild(holder);
  const canvas = document.createElement('canvas');
  holder.appendChild(canvas);
  const times = [];
  for (let i = 0; i < frames; i++) {
    const began = performance.now();
    live.draw(canvas, state, 'bench');
    canvas.getContext('2d').getImageData(0, 0, 1, 1);  // waits until the pixels are drawn
    times.push(performance.now() - began);
    await new Promise((done) => requestAnimationFrame(done));
  }
  return {times, spans: state.start.length};
}"""


def frame_ms(n: int, frames: int) -> float:
    from playwright.sync_api import sync_playwright

    content, (started, ended) = asyncio.run(_recorded(n))
    encode = lambda data: base64.b64encode(data).decode()  # noqa: E731
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            result = page.evaluate(
                DRAW,
                [_live.LIVE_JS.read_text(), content, encode(started), encode(ended), frames],
            )
        finally:
            browser.close()
    assert result["spans"] == n, result["spans"]
    return float(statistics.median(result["times"][1:]))  # the first frame warms up


def measure(quick: bool = False) -> dict[str, float]:
    n, repeats, frames = (2_000, 3, 5) if quick else (10_000, 9, 21)
    results = {"live_overhead_ratio": overhead(n, repeats)}
    if CHROMIUM.exists():
        results["live_frame_ms"] = frame_ms(10_000, frames)
    return results


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")

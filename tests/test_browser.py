"""End to end: every notebook opened in JupyterLab in headless Chromium, run, and checked.

JupyterLab runs on 127.0.0.1 with a token and throwaway config, runtime and settings folders,
on copies of the notebooks (so that nothing here rewrites the stored ones). Each notebook is run
with JupyterLab's own "run all cells"; the test then reads the notebook's model in the page:
every code cell executed, no error output (but in cells tagged ``raises-exception``), no
stderr output that the course's own execution does not produce too, and every plot rendered as
an image. A screenshot of each notebook goes to tests/screenshots/.

These tests need Debian's chromium package (/usr/bin/chromium). Without it they skip, unless
ASYNCKIT_REQUIRE_BROWSER=1 (as in CI), which turns a missing browser into a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK_TIMEOUT = 300
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _browser_or_skip() -> Path:
    if CHROMIUM.exists():
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "Python Playwright is not installed (pip install -e '.[test]')"
        else:
            return CHROMIUM
    else:
        reason = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if os.environ.get("ASYNCKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ASYNCKIT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A JupyterLab server of our own, and its REST API."""

    def __init__(self, folder: Path) -> None:
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workspace = folder / "course"
        shutil.copytree(ROOT / "notebooks", self.workspace / "notebooks")
        settings = folder / "settings"
        overrides = json.loads((ROOT / "binder" / "overrides.json").read_text())
        for plugin, values in overrides.items():  # the course's settings, as Binder has them
            package, name = plugin.split(":")
            path = settings / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(folder / "config"),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        }
        self.log = (folder / "lab.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.workspace}",
                "--LabApp.expose_app_in_browser=True",
                "--allow-root",  # CI runs as root; a throwaway server on loopback
                f"--LabServerApp.user_settings_dir={settings}",
            ],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    message = f"JupyterLab did not start: see {folder / 'lab.log'}"
                    raise RuntimeError(message) from None
                time.sleep(0.3)

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):  # type: ignore[union-attr]
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _browser_or_skip()
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
        )  # fmt: skip
        yield chromium
        chromium.close()


# The notebook's model, read in the page: each code cell's count, tags and outputs.
READ_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') continue;
    cells.push({
      source: cell.model.sharedModel.getSource().slice(0, 80),
      count: cell.model.executionCount,
      tags: cell.model.getMetadata('tags') || [],
      outputs: cell.model.outputs.toJSON(),
    });
  }
  return {cells, status: kernel ? kernel.status : 'none'};
}"""

WAIT_FOR_NOTEBOOK = """(name) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  return !!(panel && panel.context && panel.context.path.endsWith(name)
            && panel.context.isReady && panel.sessionContext.isReady
            && panel.sessionContext.session && panel.sessionContext.session.kernel
            && panel.sessionContext.session.kernel.status === 'idle');
}"""


def _stderr_cells(notebook: dict) -> set[str]:
    """Sources (first 80 characters) of the cells whose stored outputs include stderr."""
    return {
        "".join(cell["source"])[:80]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    }


def _images(notebook: dict) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def _problems(cells: list[dict], expected_stderr: set[str]) -> list[str]:
    found = []
    for cell in cells:
        for output in cell["outputs"]:
            if output["output_type"] == "error" and "raises-exception" not in cell["tags"]:
                trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
                found.append(f"cell {cell['source']!r} raised:\n{trace[-2000:]}")
            elif output.get("name") == "stderr" and cell["source"] not in expected_stderr:
                found.append(f"cell {cell['source']!r} wrote to stderr:\n{output['text'][:500]}")
    return found


@pytest.mark.timeout(NOTEBOOK_TIMEOUT + 300)  # the run, plus starting JupyterLab and a kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(lab, browser, path):
    stored = json.loads(path.read_text())
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # A workspace of its own, so that no tab (and kernel) of an earlier notebook reopens.
        page.goto(
            f"{lab.url}/lab/workspaces/{path.stem}/tree/notebooks/{path.name}?token={lab.token}"
        )
        page.wait_for_function(WAIT_FOR_NOTEBOOK, arg=path.name, timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.monotonic() + NOTEBOOK_TIMEOUT
        while True:
            state = page.evaluate(READ_CELLS)
            problems = _problems(state["cells"], _stderr_cells(stored))
            assert not problems, "\n\n".join(problems)  # fail fast, with the cell's error
            if state["status"] == "idle" and all(c["count"] for c in state["cells"]):
                break
            assert time.monotonic() < deadline, (
                f"{path.name} did not finish in {NOTEBOOK_TIMEOUT} s: "
                f"{sum(1 for c in state['cells'] if not c['count'])} cells not run"
            )
            time.sleep(0.5)
        # Cells tagged raises-exception do not stop "run all"; every code cell has a count.
        assert all(c["count"] for c in state["cells"])
        plots = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")
        images = plots.count()
        assert _images(stored) > 0, f"{path.name} has no plot stored: run make notebooks"
        assert images >= _images(stored), f"{images} plots rendered, {_images(stored)} stored"
        plots.first.scroll_into_view_if_needed()  # the screenshot shows the first plot
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{path.stem}.png"))
    finally:
        page.close()
        lab.shut_down_kernels()

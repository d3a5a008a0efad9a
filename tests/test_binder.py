"""Binder: what repo2docker would build, checked without Docker, and the start-here notebook
executed in a fresh virtual environment made from binder/requirements.txt alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matrix
import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"

pytestmark = pytest.mark.slow


def binder_python() -> str:
    """The Python version Binder runs: "3.12" for runtime.txt's "python-3.12"."""
    return (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")


def test_binder_runs_the_python_the_stored_outputs_come_from():
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        version = json.loads(notebook.read_text())["metadata"]["language_info"]["version"]
        assert version.startswith(binder_python() + "."), (notebook.name, version)


def test_repo2docker_writes_a_dockerfile_that_installs_the_course(tmp_path):
    repo2docker = Path(sys.executable).parent / "repo2docker"
    result = subprocess.run(
        [str(repo2docker), "--no-build", "--no-run", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    dockerfile = result.stdout + result.stderr
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert f"python={binder_python()}" in dockerfile
    assert "binder/postBuild" in dockerfile


def test_the_settings_binder_installs_switch_off_pop_ups():
    settings = json.loads((BINDER / "overrides.json").read_text())
    notification = settings["@jupyterlab/apputils-extension:notification"]
    assert notification == {"checkForUpdates": False, "fetchNews": "false"}
    assert "overrides.json" in (BINDER / "postBuild").read_text()


@pytest.mark.timeout(900)  # builds a virtual environment from the package index
def test_requirements_alone_run_the_start_here_notebook(tmp_path):
    # What Binder does: copy the repository, pip install -r binder/requirements.txt from its
    # root, then open the notebooks. Here: the files git knows, a fresh venv, nbclient.
    source = tmp_path / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert (source / "notebooks" / "00_start_here.ipynb").exists(), "start here is not tracked"

    python_of_binder = matrix.interpreter(binder_python())
    if python_of_binder is None:
        if os.environ.get("ASYNCKIT_REQUIRE_PYTHONS") == "1":
            pytest.fail(f"Binder's Python {binder_python()} is not on this machine")
        pytest.skip(f"Binder's Python {binder_python()} is not on this machine")
    venv = tmp_path / "venv"
    subprocess.run([python_of_binder, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        cwd=source,
        check=True,
    )
    run = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read('notebooks/00_start_here.ipynb', as_version=4)\n"
        "NotebookClient(nb, timeout=300, kernel_name='python3',\n"
        "               resources={'metadata': {'path': 'notebooks'}}).execute()\n"
        "errors = [o for c in nb.cells for o in c.get('outputs', []) if o.output_type == 'error'\n"
        "          and 'raises-exception' not in c.metadata.get('tags', [])]\n"
        "assert not errors, errors\n"
        "print('start here ran:', sum(c.cell_type == 'code' for c in nb.cells), 'code cells')\n"
    )
    result = subprocess.run(
        [python, "-c", run], cwd=source, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "start here ran:" in result.stdout

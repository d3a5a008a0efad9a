"""Run pytest on every Python the course supports, each in a virtual environment of its own.

    python tests/matrix.py                       # pytest on 3.11, 3.12 and 3.13
    python tests/matrix.py --versions 3.12 -- -m "not slow" tests/test_timeline.py
    python tests/matrix.py --versions 3.12 --script tests/execute_notebooks.py

For each version it finds an interpreter on this machine (``python3.X`` on PATH, then pyenv's
and the usual install folders; it never downloads one), makes ``.venvs/3.X`` with the course and
test extras installed (reinstalling when pyproject.toml changes), and runs pytest there (or
the ``--script``) with the arguments after ``--``. A version with no interpreter is reported and
left out, unless ``ASYNCKIT_REQUIRE_PYTHONS=1`` (as in CI), which makes it a failure. Exits
non-zero if any run failed.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("3.11", "3.12", "3.13")
VENVS = ROOT / ".venvs"


def interpreter(version: str) -> Path | None:
    """A working CPython ``version`` on this machine, or None."""
    candidates = [shutil.which(f"python{version}")]
    for pattern in (
        f"{Path.home()}/.pyenv/versions/{version}.*/bin/python{version}",
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
        f"/opt/python/{version}*/bin/python{version}",
    ):
        candidates.extend(sorted(glob.glob(pattern), reverse=True))
    for candidate in candidates:
        if candidate and _reports(Path(candidate), version):
            return Path(candidate)
    return None


def _reports(python: Path, version: str) -> bool:
    """Whether ``python`` runs and is ``version`` (pyenv's shims exist for versions they
    refuse to run)."""
    try:
        found = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and found.stdout.strip() == version


def venv(version: str, python: Path) -> Path:
    """The Python of the project's ``.venv`` if it is ``version`` (``make`` keeps it up to
    date), else of ``.venvs/<version>``, made and brought up to date with pyproject.toml."""
    default = ROOT / ".venv" / "bin" / "python"
    if default.exists() and _reports(default, version):
        return default
    home = VENVS / version
    bin_python = home / "bin" / "python"
    stamp = home / ".installed"
    pyproject = ROOT / "pyproject.toml"
    if not bin_python.exists():
        subprocess.run([python, "-m", "venv", home], check=True)
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        pip = [bin_python, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "-e", f"{ROOT}[course,test]"], check=True)
        stamp.touch()
    return bin_python


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--versions",
        default=",".join(VERSIONS),
        help="comma-separated Python versions (default: %(default)s)",
    )
    parser.add_argument(
        "--script", type=Path, help="run this Python script (with the arguments) instead of pytest"
    )
    parser.add_argument("args", nargs="*", help="arguments for pytest or the script, after --")
    args = parser.parse_args(argv)
    required = os.environ.get("ASYNCKIT_REQUIRE_PYTHONS") == "1"

    outcomes: dict[str, str] = {}
    failed = False
    for version in args.versions.split(","):
        python = interpreter(version)
        if python is None:
            outcomes[version] = "MISSING" if required else "skipped: no interpreter found"
            failed = failed or required
            print(f"== Python {version}: no interpreter on this machine", flush=True)
            continue
        print(f"== Python {version}: {python}", flush=True)
        command = [str(args.script)] if args.script else ["-m", "pytest"]
        code = subprocess.run([venv(version, python), *command, *args.args], cwd=ROOT).returncode
        outcomes[version] = "passed" if code == 0 else f"FAILED (exit {code})"
        failed = failed or code != 0

    print("== Python versions:", "; ".join(f"{v} {o}" for v, o in outcomes.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run the tests on the lowest versions of the dependencies that pyproject.toml allows.

    python tests/lowest.py -- -m "not slow" tests
    python tests/lowest.py -- tests/test_server.py -x

It makes ``.venvs/lowest`` with Python 3.11, the oldest the course supports, and installs
asynckit there with uv's ``--resolution lowest-direct``: every package pyproject.toml names at
the lowest version its floor allows (the packages those need at the newest that fit), again
whenever pyproject.toml changes. Then it runs pytest there with the arguments after ``--``. A
floor set too low fails here, not on a learner's machine.
"""

from __future__ import annotations

import subprocess
import sys

from matrix import ROOT, VENVS, interpreter


def main(argv: list[str]) -> int:
    args = argv[1:] if argv[:1] == ["--"] else argv
    python = interpreter("3.11")
    if python is None:
        print("== lowest versions: no Python 3.11 on this machine", flush=True)
        return 1
    home = VENVS / "lowest"
    bin_python = home / "bin" / "python"
    stamp = home / ".installed"
    pyproject = ROOT / "pyproject.toml"
    uv = [sys.executable, "-m", "uv"]  # from the test extra, in the project's .venv
    if not bin_python.exists():
        subprocess.run([*uv, "venv", "--quiet", "--python", python, home], check=True)
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        subprocess.run(
            [*uv, "pip", "install", "--quiet", "--python", bin_python,
             "--resolution", "lowest-direct", "--editable", f"{ROOT}[course,test]"],
            check=True,
        )  # fmt: skip
        stamp.touch()
    print(f"== lowest versions: {bin_python}", flush=True)
    return subprocess.run([bin_python, "-m", "pytest", *args], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

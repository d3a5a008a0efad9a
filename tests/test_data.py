"""The bundled data: shapes and relations like jsonplaceholder's, reproducible, loaded lazily."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asynckit import _data

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

FIELDS = {
    "posts": ["userId", "id", "title", "body"],
    "comments": ["postId", "id", "name", "email", "body"],
    "albums": ["userId", "id", "title"],
    "todos": ["userId", "id", "title", "completed"],
    "users": ["id", "name", "username", "email", "address", "phone", "website", "company"],
}
COUNTS = {"posts": 100, "comments": 500, "albums": 100, "todos": 200, "users": 10}


def test_resources_are_the_five_of_jsonplaceholder() -> None:
    assert _data.RESOURCES == ("posts", "comments", "albums", "todos", "users")


@pytest.mark.parametrize("resource", _data.RESOURCES)
def test_counts_fields_and_ids(resource: str) -> None:
    items = _data.load(resource)
    assert len(items) == COUNTS[resource]
    assert [item["id"] for item in items] == list(range(1, COUNTS[resource] + 1))
    for item in items:
        assert list(item) == FIELDS[resource]
        for field, value in item.items():
            if field in ("id", "userId", "postId"):
                assert type(value) is int
            elif field == "completed":
                assert type(value) is bool
            elif field not in ("address", "company"):
                assert isinstance(value, str) and value


def test_relations_match_jsonplaceholder() -> None:
    for comment in _data.load("comments"):
        assert comment["postId"] == math.ceil(comment["id"] / 5)
    for resource, per_user in (("posts", 10), ("albums", 10), ("todos", 20)):
        for item in _data.load(resource):
            assert item["userId"] == math.ceil(item["id"] / per_user)
    todos = _data.load("todos")
    assert 0 < sum(todo["completed"] for todo in todos) < len(todos)


def test_users_have_nested_address_geo_and_company() -> None:
    for user in _data.load("users"):
        assert list(user["address"]) == ["street", "suite", "city", "zipcode", "geo"]
        geo = user["address"]["geo"]
        assert list(geo) == ["lat", "lng"]
        assert isinstance(geo["lat"], str) and -90 <= float(geo["lat"]) <= 90
        assert isinstance(geo["lng"], str) and -180 <= float(geo["lng"]) <= 180
        assert list(user["company"]) == ["name", "catchPhrase", "bs"]
        assert "@" in user["email"]
    assert len({user["username"] for user in _data.load("users")}) == 10


def test_text_is_our_own_not_jsonplaceholders() -> None:
    text = "".join(_data.load_text(resource) for resource in _data.RESOURCES)
    for theirs in ("Leanne Graham", "Bret", "sunt aut facere", "quia et suscipit", "delectus"):
        assert theirs not in text


def test_load_returns_a_fresh_list_each_time() -> None:
    first = _data.load("posts")
    first[0]["title"] = "changed"
    first.clear()
    assert _data.load("posts")[0]["title"] != "changed"


def test_unknown_resource_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="posts, comments, albums, todos, users"):
        _data.load("photos")


def test_generator_reproduces_the_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(DATA / "generate.py"), str(tmp_path)], check=True)
    for resource in _data.RESOURCES:
        written = (tmp_path / f"{resource}.json").read_bytes()
        assert written == (DATA / f"{resource}.json").read_bytes(), resource
        assert written.endswith(b"]\n") and b"\r" not in written


def test_importing_asynckit_reads_no_data_file() -> None:
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open' and opened.append(str(args[0])))\n"
        "import asynckit, asynckit._data, asynckit.server\n"
        "print([path for path in opened if path.endswith('.json')])\n"
        "asynckit._data.load('users')\n"
        "print(sum(path.endswith('users.json') for path in opened))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "1"]


def test_loads_from_inside_the_package_as_a_wheel_installs_it(tmp_path: Path) -> None:
    # A wheel puts the files in asynckit/data/ (pyproject's force-include), with no data/ beside.
    site = tmp_path / "site"
    shutil.copytree(ROOT / "asynckit", site / "asynckit", ignore=shutil.ignore_patterns("__py*"))
    shutil.copytree(DATA, site / "asynckit" / "data", ignore=shutil.ignore_patterns("*.py"))
    script = "import asynckit._data as d; print(d.__file__); print(len(d.load('comments')))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {script}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [str(site / "asynckit" / "_data.py"), "500"]

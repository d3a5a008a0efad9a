"""The bundled data: posts, comments, albums, todos and users, read from JSON files when asked."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["RESOURCES", "load", "load_text"]

RESOURCES = ("posts", "comments", "albums", "todos", "users")


def _folder() -> Path:
    # A wheel carries the files in asynckit/data/ (pyproject's force-include); a checkout or an
    # editable install has them in the repository's data/ beside the package.
    package = Path(__file__).resolve().parent
    for folder in (package / "data", package.parent / "data"):
        if (folder / "posts.json").is_file():
            return folder
    raise FileNotFoundError(
        f"asynckit's data files are missing: looked in {package / 'data'} and "
        f"{package.parent / 'data'}; reinstall asynckit, or run data/generate.py in a checkout"
    )


def _check(resource: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"unknown resource {resource!r}: choose one of {', '.join(RESOURCES)}")
    return resource


@functools.cache
def load_text(resource: str) -> str:
    """The JSON text of one resource, read from its file the first time and cached after."""
    return (_folder() / f"{_check(resource)}.json").read_text(encoding="utf-8")


def load(resource: str) -> list[dict[str, Any]]:
    """The items of one resource (``"posts"``, ``"comments"``, ...), as a fresh list of dicts.

    The file is read once; every call returns a new list, so changing it changes nothing else.
    An unknown name raises ValueError listing the valid ones (they are in ``RESOURCES``).

    Example::

        posts = load("posts")
        len(posts), posts[0]["title"]
    """
    items: list[dict[str, Any]] = json.loads(load_text(_check(resource)))
    return items

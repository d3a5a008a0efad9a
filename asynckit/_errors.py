"""The library's own exceptions: one base class, messages that say what to do next."""

from __future__ import annotations

__all__ = ["AsynckitError"]


class AsynckitError(Exception):
    """Base class of every error asynckit raises on its own account.

    Catch it to handle anything asynckit complains about; arguments of the wrong type or value
    raise the built-in ``TypeError`` and ``ValueError`` instead.

    Example::

        try:
            await asynckit.fetch_json(session, "http://127.0.0.1:1/posts/1")
        except asynckit.AsynckitError as error:
            print(error)
    """

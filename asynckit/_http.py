"""HTTP fetching: instrumented aiohttp requests with errors a learner can act on."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ._errors import AsynckitError
from ._instrument import check_seconds, span

__all__ = ["FetchError", "fetch", "fetch_all", "fetch_json"]

_START_HINT = (
    "start the local API with api = asynckit.start_server() and fetch from api.url, "
    "or run python -m asynckit.server in a terminal"
)


class FetchError(AsynckitError):
    """A fetch that did not give a usable answer.

    ``url`` is what was fetched; ``status`` is the HTTP status, or None when no response came
    (refused connection, timeout). ``retry_after`` is the seconds a 429 or 503 answer asked the
    client to wait (its ``Retry-After`` header), or None.

    Example::

        try:
            await asynckit.fetch_json(session, api.url + "/posts/999")
        except asynckit.FetchError as error:
            print(error.status)   # 404
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_fetch_error, (str(self), self.url, self.status, self.retry_after))


def _rebuild_fetch_error(
    message: str, url: str, status: int | None, retry_after: float | None
) -> FetchError:
    return FetchError(message, url=url, status=status, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (the HTTP-date form gives None)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    label: str | None = None,
    timeout: float | None = None,
) -> str:
    """GET ``url`` with the caller's aiohttp session and return the body as text.

    Records a span of kind "fetch" (labelled with the URL's path unless ``label`` is given)
    whose detail is the HTTP status. An error status, a timeout (the session's own timeout
    applies) or a refused connection raises :class:`FetchError`, and the span records it.
    ``timeout`` (seconds) bounds this request alone; without it the session's timeout applies.
    The session stays the caller's: fetch never opens or closes one.

    Example::

        async with aiohttp.ClientSession() as session:
            text = await asynckit.fetch(session, api.url + "/posts/1")
    """
    return await _get(session, url, label, timeout, parse=False)  # type: ignore[no-any-return]


async def fetch_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    label: str | None = None,
    timeout: float | None = None,
) -> Any:
    """Like :func:`fetch`, but return the parsed JSON; a body that is not JSON raises
    :class:`FetchError`.

    Example::

        async with aiohttp.ClientSession() as session:
            post = await asynckit.fetch_json(session, api.url + "/posts/1")
        post["title"]
    """
    return await _get(session, url, label, timeout, parse=True)


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    label: str | None,
    timeout: float | None,
    *,
    parse: bool,
) -> Any:
    if not isinstance(session, aiohttp.ClientSession):
        raise TypeError(
            f"the first argument must be an aiohttp.ClientSession, not {type(session).__name__}"
        )
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = aiohttp.ClientTimeout(total=check_seconds(timeout, "timeout"))
    async with span(label if label is not None else _path_of(url), "fetch") as recorder:
        try:
            async with session.get(url, **options) as response:
                recorder.detail = str(response.status)
                body = await response.read()
        except TimeoutError:
            raise FetchError(
                f"GET {url} timed out: no answer within "
                + (f"{timeout:g} s" if timeout is not None else "the session's timeout"),
                url=url,
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(
                f"GET {url} failed: no server is listening at {exc.host}:{exc.port}; "
                + _START_HINT,
                url=url,
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise FetchError(f"GET {url} failed: that is not a valid URL", url=url) from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"GET {url} failed: {exc}", url=url) from exc
        if response.status >= 400:
            raise FetchError(
                f"GET {url} answered {response.status} {response.reason}: {_excerpt(body)}",
                url=url,
                status=response.status,
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        text = body.decode(response.get_encoding())
        if not parse:
            return text
        try:
            return json.loads(text)
        except ValueError:
            raise FetchError(
                f"GET {url} did not answer JSON: {_excerpt(body)}",
                url=url,
                status=response.status,
            ) from None


async def fetch_all(
    urls: Sequence[str],
    *,
    limit: int = 10,
    session: aiohttp.ClientSession | None = None,
    progress: bool = False,
    return_exceptions: bool = False,
) -> list[Any]:
    """Fetch many URLs concurrently, at most ``limit`` at a time, and return their parsed
    JSON in the order of ``urls``.

    Each request is recorded as a "fetch" span. A failure raises its :class:`FetchError`
    (the requests still under way are cancelled), or, with ``return_exceptions=True``, takes
    the place of that URL's result. Without a ``session`` it creates one and closes it before
    returning. ``progress=True`` shows a tqdm progress bar.

    Example::

        posts = await asynckit.fetch_all([f"{api.url}/posts/{i}" for i in range(1, 101)])
        len(posts)   # 100
    """
    if isinstance(urls, str) or not isinstance(urls, Sequence):
        raise TypeError("urls must be a list of URL strings")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, got {limit!r}")
    if session is None:
        async with aiohttp.ClientSession() as own_session:
            return await _fetch_all(urls, limit, own_session, progress, return_exceptions)
    return await _fetch_all(urls, limit, session, progress, return_exceptions)


async def _fetch_all(
    urls: Sequence[str],
    limit: int,
    session: aiohttp.ClientSession,
    progress: bool,
    return_exceptions: bool,
) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)
    bar = _progress_bar(len(urls)) if progress else None

    async def one(url: str) -> Any:
        async with semaphore:
            try:
                return await fetch_json(session, url)
            except FetchError as error:
                if return_exceptions:
                    return error
                raise
            finally:
                if bar is not None:
                    bar.update(1)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(url)) for url in urls]
    except BaseExceptionGroup as group_error:
        first = group_error.exceptions[0]
        raise first from None
    finally:
        if bar is not None:
            bar.close()
    return [task.result() for task in tasks]


def _progress_bar(total: int) -> Any:
    try:
        import tqdm
    except ImportError:
        raise AsynckitError(
            "progress=True needs tqdm: pip install tqdm (it comes with asynckit[course])"
        ) from None
    # tqdm.auto draws a widget in Jupyter, but only with ipywidgets; without, it warns.
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm as widget_bar

        return widget_bar(total=total, unit="request")
    return tqdm.tqdm(total=total, unit="request")


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") or url


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str):
        return message
    return text if len(text) <= limit else text[:limit] + "..."

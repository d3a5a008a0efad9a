"""HTTP fetching: instrumented aiohttp requests with errors a learner can act on.

Every failure is a ``FetchError`` whose message names its cause and what to do: nothing
listening, a host name that does not resolve, a TLS handshake that failed, a timeout, an error
status (with the server's ``Retry-After``), a broken connection, a body that is not text or not
JSON. ``fetch_all`` raises a group of them.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import math
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ._errors import AsynckitError
from ._instrument import check_seconds, span

__all__ = ["FetchError", "FetchErrors", "fetch", "fetch_all", "fetch_json"]

_START_HINT = (
    "start the local API with api = asynckit.start_server() and fetch from api.url, "
    "or run python -m asynckit.server in a terminal"
)
# aiohttp 3.10 gave DNS failures a class of their own; before, the OSError inside tells.
_DNS_ERROR: tuple[type[Exception], ...] = tuple(
    getattr(aiohttp, name) for name in ("ClientConnectorDNSError",) if hasattr(aiohttp, name)
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


class FetchErrors(ExceptionGroup[FetchError], FetchError):
    """Every request of a ``fetch_all`` that failed, as one exception group.

    It is a ``FetchError`` too, so ``except asynckit.FetchError`` catches it; ``exceptions``
    holds each failure (``except* asynckit.FetchError`` takes them one by one). ``url`` is the
    first failure's; ``status`` and ``retry_after`` are None (see each failure's own).

    Example::

        try:
            await asynckit.fetch_all(urls)
        except asynckit.FetchError as error:
            for failure in getattr(error, "exceptions", [error]):
                print(failure.status, failure.url)
    """

    def __new__(cls, message: str, errors: Sequence[FetchError]) -> FetchErrors:
        return super().__new__(cls, message, errors)

    def __init__(self, message: str, errors: Sequence[FetchError]) -> None:
        Exception.__init__(self, message, errors)
        self.url = errors[0].url
        self.status = None
        self.retry_after = None

    def derive(self, excs: Sequence[FetchError]) -> FetchErrors:  # type: ignore[override]
        return FetchErrors(self.message, excs)

    def __str__(self) -> str:
        return ExceptionGroup.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FetchErrors, (self.message, list(self.exceptions)))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, in seconds or as an HTTP date; else None."""
    if value is None or len(value) > 64:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = max(0.0, when.timestamp() - time.time())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _failure(url: str, exc: BaseException, timeout: float | None) -> FetchError:
    """A FetchError for what went wrong on the way to an answer, saying what to do."""
    get = f"GET {url}"
    if isinstance(exc, TimeoutError):
        within = f"{timeout:g} s" if timeout is not None else "the session's timeout"
        return FetchError(
            f"{get} timed out: no answer within {within}; the server is slow or stuck (give a "
            "longer timeout= if it is only slow)",
            url=url,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
        if isinstance(exc, _DNS_ERROR) or isinstance(exc.os_error, socket.gaierror):
            return FetchError(
                f"{get} failed: the host name {exc.host!r} does not resolve to an address; "
                "check the host in the URL (the local API is at 127.0.0.1)",
                url=url,
            )
        if isinstance(exc, aiohttp.ClientSSLError):
            return FetchError(
                f"{get} failed: the TLS (https) handshake with {where} failed "
                f"({exc.os_error}); check the URL's scheme (the local API speaks plain "
                "http://) and the server's certificate",
                url=url,
            )
        if isinstance(exc.os_error, ConnectionRefusedError):
            if _is_loopback(exc.host):
                return FetchError(
                    f"{get} failed: no server is listening at {where}; {_START_HINT}", url=url
                )
            return FetchError(
                f"{get} failed: {where} refused the connection; check the port in the URL and "
                "that the server runs",
                url=url,
            )
        reason = exc.os_error.strerror or exc.os_error
        return FetchError(f"{get} failed: cannot connect to {where}: {reason}", url=url)
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return FetchError(f"{get} failed: that is not a valid URL", url=url)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | OSError):
        return FetchError(
            f"{get} failed: the connection broke before the whole answer came ({exc}); the "
            "server may have stopped or crashed, try again",
            url=url,
        )
    return FetchError(f"{get} failed: {exc}", url=url)


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
    ``timeout`` (seconds, more than 0) bounds this request alone; without it, or with
    ``math.inf``, the session's timeout applies. The session stays the caller's: fetch never
    opens or closes one.

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


def _check_timeout(timeout: object) -> float | None:
    """A fetch's own timeout in seconds, or None for none of its own (None or math.inf)."""
    if timeout is None:
        return None
    try:
        seconds = check_seconds(timeout, "timeout")  # a TypeError for what is not a number
    except ValueError:
        seconds = math.nan
    # aiohttp reads 0 as no timeout at all, and cannot take inf: neither reaches it.
    if not seconds > 0:
        raise ValueError(
            f"timeout must be more than 0 seconds, got {timeout!r}: give the seconds this "
            "request may take, or None (or math.inf) to leave it to the session's timeout"
        )
    return None if seconds == math.inf else seconds


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
    timeout = _check_timeout(timeout)
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = aiohttp.ClientTimeout(total=timeout)
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1", say
        raise FetchError(f"GET {url} failed: that is not a valid URL", url=url) from None
    scheme = parts.scheme.lower()
    if label is None:
        label = parts.path + (f"?{parts.query}" if parts.query else "") or url
    # A plain ``with``: aiohttp runs under asyncio only, so the span needs no awaiting to find
    # its task, and each request saves the two coroutines of ``async with``.
    with span(label, "fetch") as recorder:
        if scheme not in ("http", "https"):
            message = (
                "fetch takes http:// and https:// URLs only"
                if scheme
                else "that is not a valid URL: it starts with http:// or https://"
            )
            raise FetchError(f"GET {url} failed: {message}", url=url)
        try:
            async with session.get(url, **options) as response:
                recorder.detail = str(response.status)
                body = await response.read()
        except (TimeoutError, aiohttp.ClientError, ValueError, OSError) as exc:
            raise _failure(url, exc, timeout) from exc
        if response.status >= 400:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise FetchError(
                f"GET {url} answered {response.status} {response.reason}: {_excerpt(body)}"
                + (f"; the server asks to retry after {retry_after:g} s" if retry_after else ""),
                url=url,
                status=response.status,
                retry_after=retry_after,
            )
        try:
            encoding = response.get_encoding()
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise FetchError(
                f"GET {url} answered a body that is not text in the charset it declares "
                f"({exc}): use response.read() for the raw bytes",
                url=url,
                status=response.status,
            ) from None
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

    Each request is recorded as a "fetch" span. A failure cancels the requests still under
    way and raises an ``ExceptionGroup`` of every failure, which is a :class:`FetchError` too
    (``except asynckit.FetchError`` catches it, ``except*`` takes the failures one by one);
    with ``return_exceptions=True`` each failure takes the place of that URL's result instead.
    Without a ``session`` it creates one, with a connection pool of ``limit`` connections, and
    closes it before returning; a given session keeps its own pool, which may hold fewer
    (aiohttp's default is 100). ``progress=True`` shows a tqdm progress bar (as text).

    Example::

        posts = await asynckit.fetch_all([f"{api.url}/posts/{i}" for i in range(1, 101)])
        len(posts)   # 100
    """
    if (
        isinstance(urls, str)
        or not isinstance(urls, Sequence)
        or not all(isinstance(url, str) for url in urls)
    ):
        raise TypeError("urls must be a list of URL strings")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, got {limit!r}")
    if session is not None and not isinstance(session, aiohttp.ClientSession):
        raise TypeError(
            f"session= must be an aiohttp.ClientSession, not {type(session).__name__}: pass "
            "one you opened with aiohttp.ClientSession(), or leave it out and fetch_all opens "
            "its own"
        )
    if session is None:
        connector = aiohttp.TCPConnector(limit=limit)  # aiohttp's own default would cap it at 100
        async with aiohttp.ClientSession(connector=connector) as own_session:
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
        failures = group_error.exceptions
        if not all(isinstance(failure, FetchError) for failure in failures):
            raise
        raise FetchErrors(
            f"{len(failures)} of {len(urls)} fetches failed, and the requests still under way "
            "were cancelled (return_exceptions=True lets them all finish)",
            failures,  # type: ignore[arg-type]
        ) from None
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
    # A text bar, not tqdm's widget: a saved notebook, GitHub or nbviewer shows a widget as
    # its first frame (0%), while a text bar's last line reads as it ended.
    return tqdm.tqdm(total=total, unit="request")


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str):
        return message
    return text if len(text) <= limit else text[:limit] + "..."

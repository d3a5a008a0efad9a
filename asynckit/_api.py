"""The local JSON API as an aiohttp application: routes, filters, pages, latency, faults, stats.

Each item, each unfiltered collection and the index are serialised once, when the first API is
built; a filtered or paged collection is joined from serialised items the first time it is
asked for and kept. A request then mostly looks things up. Settings and statistics live on one
``API`` object and are touched only from the event loop that serves it (_server.py hops threads
for callers elsewhere).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from time import monotonic
from typing import Any, Final, TypedDict

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict
from yarl import URL

from ._data import RESOURCES, load
from ._instrument import check_seconds

__all__ = ["API", "MAX_SECONDS", "Settings", "Stats", "quiet_client_errors"]

MAX_SECONDS: Final = 30.0
"""The longest ``delay`` or ``interval`` a request may ask for."""

# Which child resources hang below which parent, and the field that links them.
_NESTED: Final = {
    "posts": (("comments", "postId"),),
    "users": (("posts", "userId"), ("todos", "userId"), ("albums", "userId")),
}
_CONTROL: Final = frozenset({"delay", "fail"})
_PAGING: Final = ("_page", "_limit", "_start", "_end")
_STREAM: Final = frozenset({"n", "interval"}) | _CONTROL
_INTEGER: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL: Final = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_MAX_ANSWERS: Final = 4096  # collection answers kept for repeated queries
_JSON: Final = "application/json; charset=utf-8"
_BASE_HEADERS: Final = CIMultiDict(
    {
        "Content-Type": _JSON,
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "X-Total-Count, Link, Retry-After",
    }
)


# A collection's answer: the JSON body, how many items matched, and (_page, _limit) if paged.
_Answer = tuple[bytes, int, tuple[int, int] | None]


class Stats(TypedDict):
    """A snapshot of what the API has answered since it started (or since ``reset_stats()``).

    ``requests`` counts requests received, those still being answered included; ``by_status``
    counts answers by HTTP status; ``in_flight`` is how many are being answered now and
    ``peak_in_flight`` the most there were at once.
    """

    requests: int
    by_status: dict[int, int]
    in_flight: int
    peak_in_flight: int


def _check_finite_seconds(value: object, name: str) -> float:
    seconds = check_seconds(value, name)
    if math.isinf(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return seconds


def _check_number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Settings:
    """How the API misbehaves: latency, jitter, random failures, a rate limit, and a seed.

    ``latency`` seconds are added before every answer, plus up to ``jitter`` seconds drawn at
    random; ``error_rate`` is the probability (0 to 1) of answering 503 instead; past
    ``rate_limit`` requests per second (a token bucket holding as many) it answers 429; ``seed``
    makes the random draws repeat from one run to the next. Bad values raise TypeError or
    ValueError naming the setting.
    """

    latency: float = 0.0
    jitter: float = 0.0
    error_rate: float = 0.0
    rate_limit: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("latency", _check_finite_seconds(self.latency, "latency"))
        set_("jitter", _check_finite_seconds(self.jitter, "jitter"))
        error_rate = _check_number(self.error_rate, "error_rate")
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(
                f"error_rate must be a probability from 0 to 1 (0.1 fails one request in ten), "
                f"got {self.error_rate!r}"
            )
        set_("error_rate", error_rate)
        if self.rate_limit is not None:
            rate_limit = _check_number(self.rate_limit, "rate_limit")
            if not 0.0 < rate_limit < math.inf:
                raise ValueError(
                    "rate_limit must be a number of requests per second above 0, or None for no "
                    f"limit, got {self.rate_limit!r}"
                )
            set_("rate_limit", rate_limit)
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")


class _Reject(Exception):
    """Answer this request with an error status and a JSON ``{"error": message}`` body."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _show(text: str, limit: int = 40) -> str:
    """A value quoted for an error message, shortened if it is long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    response_headers = _BASE_HEADERS.copy()
    if headers:
        response_headers.update(headers)
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, headers=response_headers)


def _parse_seconds(text: str, name: str) -> float:
    seconds = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not 0.0 <= seconds <= MAX_SECONDS:  # also false for NaN
        raise _Reject(
            400, f"{name} must be a number of seconds from 0 to {MAX_SECONDS:g}, got {_show(text)}"
        )
    return seconds


def _parse_int(text: str, name: str, low: int, high: int | None = None) -> int:
    if _INTEGER.fullmatch(text) and len(text) <= 18:
        number = int(text)
        if low <= number and (high is None or number <= high):
            return number
    span = f"from {low} up" if high is None else f"from {low} to {high}"
    raise _Reject(400, f"{name} must be a whole number {span}, got {_show(text)}")


def _join(lines: Iterable[bytes]) -> bytes:
    """A JSON array with one item per line, built from already serialised items."""
    body = b",\n".join(lines)
    return b"[\n" + body + b"\n]" if body else b"[]"


class _Table:
    """One resource, serialised once: item bodies, NDJSON lines and an index for filters."""

    def __init__(self, name: str, items: list[dict[str, Any]]) -> None:
        self.name = name
        self.singular = name[:-1]
        self.size = len(items)
        self.ids = [item["id"] for item in items]
        self.position = {str(item["id"]): i for i, item in enumerate(items)}
        self.bodies = [json.dumps(item, indent=2, ensure_ascii=False).encode() for item in items]
        self.lines = [json.dumps(item, ensure_ascii=False).encode() for item in items]
        self.all_positions = tuple(range(self.size))
        self.all_body = _join(self.lines)
        # field -> value as text ("1", "true", "some title") -> positions of the matching items
        self.index: dict[str, dict[str, list[int]]] = {}
        for i, item in enumerate(items):
            for field, value in item.items():
                if isinstance(value, dict | list):
                    continue  # nested objects (a user's address) are not filters
                text = json.dumps(value) if isinstance(value, bool) else str(value)
                self.index.setdefault(field, {}).setdefault(text, []).append(i)
        self.filters = tuple(self.index)

    def find(self, raw: str) -> int:
        """The position of the item whose id is ``raw``, or a 400/404 saying what is wrong."""
        position = self.position.get(raw)
        if position is not None:
            return position
        if _INTEGER.fullmatch(raw):
            if len(raw) <= 18:
                position = self.position.get(str(int(raw)))
                if position is not None:
                    return position
            raise _Reject(
                404, f"no {self.singular} has id {raw[:20]}: ids run from 1 to {self.size}"
            )
        raise _Reject(400, f"a {self.singular} id is a whole number such as 1, got {_show(raw)}")

    def select(self, field: str, values: list[str]) -> set[int]:
        index = self.index[field]
        return {position for value in values for position in index.get(value, ())}


@functools.cache
def _tables() -> dict[str, _Table]:
    """Every resource, serialised once per process and shared by every API (it is read only)."""
    return {name: _Table(name, load(name)) for name in RESOURCES}


def _routes() -> list[str]:
    routes = ["/"]
    for name in RESOURCES:
        routes += [f"/{name}", f"/{name}/{{id}}"]
        routes += [f"/{name}/{{id}}/{child}" for child, _ in _NESTED.get(name, ())]
    return [*routes, "/stream/{resource}?n=10&interval=0.1", "/delay/{seconds}"]


def _index_body(tables: Mapping[str, _Table]) -> bytes:
    index = {
        "name": "asynckit local API",
        "resources": {name: table.size for name, table in tables.items()},
        "routes": _routes(),
        "query": {
            "<field>=<value>": "keep items whose field has that value (repeat it for any of)",
            "_page, _limit": "one page of _limit items (default 10); _page counts from 1",
            "_start, _end, _limit": "a slice of the items, from _start (counted from 0)",
            "delay=<seconds>": "answer this request after that long instead of the latency",
            "fail=<status>": "answer this request with that error status (400 to 599)",
        },
        "headers": {"X-Total-Count": "how many items matched, before pagination"},
    }
    return json.dumps(index, indent=2, ensure_ascii=False).encode()


class API:
    """The local JSON API: its aiohttp application, settings and statistics.

    Build it and serve ``api.app`` with any aiohttp runner; call every method from the event
    loop that serves it.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings()
        self._tables = _tables()
        self._index = _index_body(self._tables)
        self._faults = random.Random()
        self._jitter = random.Random()
        self._reseed()
        self._tokens = 0.0
        self._refilled = 0.0
        self._refill()
        self._requests = 0
        self._by_status: dict[int, int] = {}
        self._in_flight = 0
        self._peak = 0
        # Collections already answered: (resource, scope, query string) -> _Answer.
        self._answers: dict[tuple[str, tuple[str, str] | None, str], _Answer] = {}
        self.app = self._build_app()

    # -- settings and statistics ---------------------------------------------------------

    def configure(self, **changes: Any) -> Settings:
        """Change some settings (validated as ``Settings`` does); return the new ones.

        Naming ``seed`` restarts the random draws from it; naming ``rate_limit`` refills the
        token bucket.
        """
        self.settings = replace(self.settings, **changes)
        if "seed" in changes:
            self._reseed()
        if "rate_limit" in changes:
            self._refill()
        return self.settings

    def stats(self) -> Stats:
        return {
            "requests": self._requests,
            "by_status": dict(sorted(self._by_status.items())),
            "in_flight": self._in_flight,
            "peak_in_flight": self._peak,
        }

    def reset_stats(self) -> None:
        self._requests = 0
        self._by_status = {}
        self._peak = self._in_flight

    def _reseed(self) -> None:
        seed = self.settings.seed
        self._faults.seed(None if seed is None else f"faults-{seed}")
        self._jitter.seed(None if seed is None else f"jitter-{seed}")

    def _refill(self) -> None:
        self._tokens = max(1.0, self.settings.rate_limit or 0.0)
        self._refilled = monotonic()

    def _admit(self, rate: float) -> int:
        """Take a token from the bucket: 0 if there was one, else the seconds to wait for one."""
        now = monotonic()
        capacity = max(1.0, rate)
        self._tokens = min(capacity, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self._tokens) / rate))

    # -- the application -----------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware()])
        add = app.router.add_get
        add("/", self._root)
        for name, table in self._tables.items():
            add(f"/{name}", functools.partial(self._collection, table, None))
            add(f"/{name}/{{id}}", functools.partial(self._item, table))
            for child, field in _NESTED.get(name, ()):
                nested = functools.partial(self._nested, table, self._tables[child], field)
                add(f"/{name}/{{id}}/{child}", nested)
        add("/stream/{resource}", self._stream)
        add("/delay/{seconds}", self._delay)
        return app

    def _middleware(self) -> Middleware:
        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            self._requests += 1
            self._in_flight += 1
            if self._in_flight > self._peak:
                self._peak = self._in_flight
            status = None
            try:
                response = await self._answer(request, handler)
                status = response.status
                return response
            finally:
                self._in_flight -= 1
                if status is not None:
                    self._by_status[status] = self._by_status.get(status, 0) + 1

        return middleware

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        settings = self.settings
        try:
            retry_after = 0 if settings.rate_limit is None else self._admit(settings.rate_limit)
            if retry_after:  # refused at the door, at once, as a real rate limiter does
                raise _Reject(
                    429,
                    f"too many requests: this API answers {settings.rate_limit:g} per second; "
                    f"retry after {retry_after} s",
                    {"Retry-After": str(retry_after)},
                )
            delay = fail = None
            if request.query_string:
                query = request.query
                if "delay" in query:
                    delay = _parse_seconds(query.getone("delay"), "delay")
                if "fail" in query:
                    fail = _parse_int(query.getone("fail"), "fail (an HTTP error status)", 400, 599)
            failing = settings.error_rate > 0.0 and self._faults.random() < settings.error_rate
            if delay is None:
                delay = settings.latency
                if settings.jitter:
                    delay += self._jitter.uniform(0.0, settings.jitter)
            if delay:
                await asyncio.sleep(delay)
            if fail is not None:
                raise _Reject(fail, f"failed on purpose: the request asked for fail={fail}")
            if failing:
                raise _Reject(
                    503,
                    f"simulated failure: this API fails {settings.error_rate:.0%} of requests "
                    "at random; try again",
                )
            return await handler(request)
        except _Reject as reject:
            return _error(reject.status, reject.message, reject.headers)
        except web.HTTPException as exc:  # raised by the router: no such route, or not GET
            return _http_error(request, exc)

    # -- handlers ------------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        _check_params(request, _CONTROL, "/")
        return web.Response(body=self._index, headers=_BASE_HEADERS.copy())

    async def _item(self, table: _Table, request: web.Request) -> web.Response:
        position = table.find(request.match_info["id"])
        if request.query_string:
            _check_params(request, _CONTROL, f"/{table.name}/{{id}}")
        return web.Response(body=table.bodies[position], headers=_BASE_HEADERS.copy())

    async def _nested(
        self, parent: _Table, child: _Table, field: str, request: web.Request
    ) -> web.Response:
        parent_id = str(parent.ids[parent.find(request.match_info["id"])])
        return await self._collection(child, (field, parent_id), request)

    async def _collection(
        self, table: _Table, scope: tuple[str, str] | None, request: web.Request
    ) -> web.Response:
        """A collection, filtered by ``scope`` (a parent's field and id) and the query."""
        key = (table.name, scope, request.query_string)
        answer = self._answers.get(key)
        if answer is None:
            answer = _select(table, scope, request.query)
            if len(self._answers) >= _MAX_ANSWERS:
                self._answers.clear()
            self._answers[key] = answer
        body, total, page = answer
        headers = _BASE_HEADERS.copy()
        headers["X-Total-Count"] = str(total)
        if page is not None:
            headers["Link"] = _links(request.url, *page, total)
        return web.Response(body=body, headers=headers)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["resource"]
        table = self._tables.get(name)
        if table is None:
            raise _Reject(
                404, f"no resource {_show(name)} to stream: choose one of {', '.join(RESOURCES)}"
            )
        _check_params(request, _STREAM, f"/stream/{name}")
        query = request.query
        n = _parse_int(query.get("n", "10"), "n", 0)
        interval = _parse_seconds(query.get("interval", "0.1"), "interval")
        headers = _BASE_HEADERS.copy()
        headers["Content-Type"] = "application/x-ndjson"
        if request.method == "HEAD":  # the headers a GET would get, and no body
            return web.Response(headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for i in range(min(n, table.size)):
                if i:
                    await asyncio.sleep(interval)
                await response.write(table.lines[i] + b"\n")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away: nothing left to answer
        return response

    async def _delay(self, request: web.Request) -> web.Response:
        text = request.match_info["seconds"]
        seconds = _parse_seconds(text, "the delay in /delay/{seconds}")
        _check_params(request, _CONTROL, "/delay/{seconds}")
        await asyncio.sleep(seconds)
        shown = int(seconds) if seconds.is_integer() else seconds
        return web.Response(
            body=json.dumps({"delay": shown}).encode(), headers=_BASE_HEADERS.copy()
        )


def _check_params(request: web.Request, allowed: frozenset[str], route: str) -> None:
    for key in request.query:
        if key not in allowed:
            raise _Reject(
                400,
                f"unknown query parameter {_show(key)} for {route}: it takes "
                f"{', '.join(sorted(allowed))}",
            )


def _select(table: _Table, scope: tuple[str, str] | None, query: Mapping[str, str]) -> _Answer:
    """Filter and paginate as json-server does; serialise the result."""
    filters: dict[str, list[str]] = {}
    paging: dict[str, int] = {}
    for key, value in query.items():
        if key in _CONTROL:
            continue
        if key in _PAGING:
            if key in paging:
                raise _Reject(400, f"give {key} only once")
            paging[key] = _parse_int(value, key, 1 if key == "_page" else 0)
        elif key in table.index:
            filters.setdefault(key, []).append(value)
        else:
            raise _Reject(
                400,
                f"unknown query parameter {_show(key)} for /{table.name}: filter by "
                f"{', '.join(table.filters)}; paginate with {', '.join(_PAGING)}; or use "
                f"{', '.join(sorted(_CONTROL))}",
            )
    selected = None if scope is None else table.select(scope[0], [scope[1]])
    for field, values in filters.items():
        matched = table.select(field, values)
        selected = matched if selected is None else selected & matched
    positions: Sequence[int] = table.all_positions if selected is None else sorted(selected)
    total = len(positions)
    page = None
    start = paging.get("_start", 0)
    if "_page" in paging:  # _page wins over _start and _end; _limit defaults to 10
        page = (paging["_page"], paging.get("_limit", 10))
        positions = positions[(page[0] - 1) * page[1] : page[0] * page[1]]
    elif "_end" in paging:
        positions = positions[start : paging["_end"]]
    elif "_limit" in paging:
        positions = positions[start : start + paging["_limit"]]
    elif start:
        positions = positions[start:]
    if positions is table.all_positions:
        return table.all_body, total, page
    return _join([table.lines[i] for i in positions]), total, page


def _links(url: URL, page: int, limit: int, total: int) -> str:
    """A Link header with the first, previous, next and last pages, as json-server sends."""
    last = max(1, math.ceil(total / limit)) if limit else 1
    pages = {"first": 1, "prev": page - 1, "next": page + 1, "last": last}
    return ", ".join(
        f'<{url.update_query(_page=number, _limit=limit)}>; rel="{rel}"'
        for rel, number in pages.items()
        if 1 <= number <= last
    )


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        message = f"nothing at {_show(request.path, 60)}: GET / lists the routes"
    elif exc.status == 405:
        message = f"{request.method} is not allowed: this API is read only, use GET"
    else:
        message = exc.reason
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return _error(exc.status, message, headers)


class _QuietClientErrors(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log, except that a malformed request is the client's mistake.

    aiohttp answers a request it cannot parse (a 10 kB request line, say) with a 400 and logs
    it as an ERROR with a traceback; this logs it at INFO, in one line.
    """

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            try:
                context = str(msg) % args
            except (TypeError, ValueError):
                context = str(msg)
            self.info("%s: answered 400 to a malformed request: %s", context, exc_info.message)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def quiet_client_errors() -> logging.LoggerAdapter[logging.Logger]:
    """A logger for aiohttp's ``logger=`` that reports malformed requests without a traceback."""
    return _QuietClientErrors(logging.getLogger("aiohttp.server"), {})

"""The local JSON API's aiohttp application: routes, filters, pages, latency, faults, stats.

``App`` is the application alone; ``_server.py`` runs it, in a process of its own or on the
caller's loop, and hands out the ``LocalAPI`` handle. Each item, each unfiltered collection and
the index are serialised once per process; a filtered or paged collection is joined from
serialised items and kept in a cache bounded in bytes, under its normalised query. A request
then mostly looks things up. Settings and statistics live on the ``App`` and are touched only
from the event loop that serves it.

Hostile input costs little: numbers are read by a length cap, a character check and
``float()``/``int()`` (no regular expression), requests whose Host is not this machine get 403
(a web page cannot reach the API through DNS rebinding), and no origin may read answers across
origins (CORS) unless named.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hmac
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from time import monotonic
from typing import Any, Final, TypedDict
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ._data import RESOURCES, load
from ._instrument import check_seconds

__all__ = [
    "CONTROL_PATH",
    "MAX_SECONDS",
    "TOKEN_HEADER",
    "App",
    "Settings",
    "Stats",
    "check_origins",
    "quiet_client_errors",
]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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
_MAX_NUMBER: Final = 32  # characters: longer is not a number a request needs
_DECIMAL_CHARS: Final = frozenset("0123456789.eE+-")
_CACHE_BYTES: Final = 16 * 2**20  # collection answers kept for repeated queries, at most
_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost"})
_JSON: Final = "application/json; charset=utf-8"
_EXPOSED: Final = "X-Total-Count, Link, Retry-After"

CONTROL_PATH: Final = "/_control"
"""The route, only for the process that started the server, that reads and changes its state."""
TOKEN_HEADER: Final = "X-Control-Token"
"""The header carrying the control route's secret token."""

# A normalised collection query: resource, parent scope, the filters that can match (field,
# values), and the slice of the matches.
_Key = tuple[str, tuple[str, str] | None, tuple[tuple[str, tuple[str, ...]], ...], int, int]


class Stats(TypedDict):
    """A snapshot of what the API has answered since it started (or since ``reset_stats()``).

    ``requests`` counts requests received, those still being answered included; ``by_status``
    counts answers by HTTP status; ``in_flight`` is how many are being answered now and
    ``peak_in_flight`` the most there were at once. Requests refused because they named another
    host (403) are not counted: they are not the learner's.
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


def _json_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    given = {"Content-Type": _JSON}
    if headers:
        given.update(headers)
    return web.Response(body=body, status=status, headers=given)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    return _json_response(body, status, headers)


def _is_whole(text: str) -> bool:
    """Whether ``text`` is a short whole number in ASCII digits, with an optional sign."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return 0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()


def _parse_seconds(text: str, name: str) -> float:
    seconds = math.nan
    if len(text) <= _MAX_NUMBER and text and _DECIMAL_CHARS.issuperset(text):
        with contextlib.suppress(ValueError):  # "1e", "+-1" and the like
            seconds = float(text)
    if not 0.0 <= seconds <= MAX_SECONDS:  # also false for NaN
        raise _Reject(
            400, f"{name} must be a number of seconds from 0 to {MAX_SECONDS:g}, got {_show(text)}"
        )
    return seconds


def _parse_int(text: str, name: str, low: int, high: int | None = None) -> int:
    if _is_whole(text):
        number = int(text)
        if low <= number and (high is None or number <= high):
            return number
    span = f"from {low} up" if high is None else f"from {low} to {high}"
    raise _Reject(400, f"{name} must be a whole number {span}, got {_show(text)}")


def check_origins(cors: str | Iterable[str] | None) -> frozenset[str]:
    """The origins allowed to read answers across origins, checked: ``scheme://host[:port]``."""
    if cors is None:
        return frozenset()
    if not isinstance(cors, str | Iterable):
        raise TypeError(f"cors must be an origin or a list of origins, not {cors!r}")
    origins = [cors] if isinstance(cors, str) else list(cors)
    for origin in origins:
        if not isinstance(origin, str):
            raise TypeError(f"cors must be an origin or a list of origins, not {origin!r}")
        parts = urlsplit(origin)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or origin != f"{parts.scheme}://{parts.netloc}"
        ):
            raise ValueError(
                "cors takes origins such as 'http://localhost:8888' (a scheme and a host, "
                f"nothing after), got {origin!r}"
            )
    return frozenset(origins)


def _host_name(host: str) -> str:
    """The name part of a Host header, lower case: ``localhost:8000`` gives ``localhost``."""
    name, colon, port = host.rpartition(":")
    return (name if colon and port.isdigit() else host).lower()


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
        digits = raw[1:] if raw[:1] in ("+", "-") else raw
        if digits.isascii() and digits.isdigit():
            if _is_whole(raw):
                position = self.position.get(str(int(raw)))
                if position is not None:
                    return position
            raise _Reject(
                404, f"no {self.singular} has id {raw[:20]}: ids run from 1 to {self.size}"
            )
        raise _Reject(400, f"a {self.singular} id is a whole number such as 1, got {_show(raw)}")

    def select(self, field: str, values: Iterable[str]) -> set[int]:
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


class App:
    """The local JSON API's aiohttp application, with its settings and statistics.

    Serve ``app.app`` with any aiohttp runner, and call every method from the event loop that
    serves it. ``cors`` names the origins whose pages may read the answers (none by default);
    ``control_token``, if given, opens the control route (``POST /_control`` with the token in
    the ``X-Control-Token`` header), which the process that started a server uses to read and
    change its state.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        cors: frozenset[str] = frozenset(),
        control_token: str | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self._cors = cors
        self._token = control_token.encode() if control_token is not None else None
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
        # Collection bodies already joined, under their normalised query, least recent first.
        self._cache: collections.OrderedDict[_Key, bytes] = collections.OrderedDict()
        self._cache_bytes = 0
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

    def state(self) -> dict[str, Any]:
        """The settings and the statistics, as JSON-ready dicts."""
        return {"settings": asdict(self.settings), "stats": self.stats()}

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
        app = web.Application(middlewares=[self._middleware])
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
        app.on_response_prepare.append(self._add_cors_headers)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if host is not None and _host_name(host) not in _LOCAL_HOSTS:
            # A page elsewhere that had its own name resolve to 127.0.0.1 (DNS rebinding)
            # sends its own name here: it gets nothing.
            return _error(
                403, f"this API answers only to 127.0.0.1 and localhost, not {_show(host)}"
            )
        if request.path == CONTROL_PATH and self._token is not None:
            return await self._control(request)
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

    async def _add_cors_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if not self._cors:
            return
        response.headers["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        if origin in self._cors:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED

    async def _control(self, request: web.Request) -> web.Response:
        """Read the state, or change it first: only with the token given at start."""
        token = request.headers.get(TOKEN_HEADER, "").encode()
        if self._token is None or not hmac.compare_digest(token, self._token):
            return _error(403, "the control route needs the token its server was started with")
        if request.method != "POST":
            return _error(405, "the control route takes POST", {"Allow": "POST"})
        try:
            command = await request.json()
            action = command["action"]
            if action == "configure":
                self.configure(**command["changes"])
            elif action == "reset_stats":
                self.reset_stats()
            elif action != "state":
                raise ValueError(f"unknown action {action!r}")
        except (TypeError, ValueError, KeyError) as exc:
            failure = {"error": str(exc), "type": type(exc).__name__}
            return _json_response(json.dumps(failure).encode(), 400)
        return _json_response(json.dumps(self.state()).encode())

    async def _answer(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
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
                    f"simulated failure: this API fails {settings.error_rate * 100:.3g}% of "
                    "requests at random; try again",
                )
            return await handler(request)
        except _Reject as reject:
            return _error(reject.status, reject.message, reject.headers)
        except web.HTTPException as exc:  # raised by the router: no such route, or not GET
            return self._http_error(request, exc)

    def _http_error(self, request: web.Request, exc: web.HTTPException) -> web.Response:
        origin = request.headers.get("Origin")
        if (
            exc.status == 405
            and request.method == "OPTIONS"
            and origin in self._cors
            and request.headers.get("Access-Control-Request-Method") in ("GET", "HEAD")
        ):  # a CORS preflight from an origin allowed to read
            methods = {"Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Max-Age": "600"}
            return web.Response(status=204, headers=methods)
        return _http_error(request, exc)

    # -- handlers ------------------------------------------------------------------------

    async def _root(self, request: web.Request) -> web.Response:
        _check_params(request, _CONTROL, "/")
        return _json_response(self._index)

    async def _item(self, table: _Table, request: web.Request) -> web.Response:
        position = table.find(request.match_info["id"])
        if request.query_string:
            _check_params(request, _CONTROL, f"/{table.name}/{{id}}")
        return _json_response(table.bodies[position])

    async def _nested(
        self, parent: _Table, child: _Table, field: str, request: web.Request
    ) -> web.Response:
        parent_id = str(parent.ids[parent.find(request.match_info["id"])])
        return await self._collection(child, (field, parent_id), request)

    async def _collection(
        self, table: _Table, scope: tuple[str, str] | None, request: web.Request
    ) -> web.Response:
        """A collection, filtered by ``scope`` (a parent's field and id) and the query."""
        key, positions, total, page = _select(table, scope, request.query)
        body = self._body(table, key, positions)
        headers = {"X-Total-Count": str(total)}
        if page is not None:
            headers["Link"] = _links(request, *page, total)
        return _json_response(body, headers=headers)

    def _body(self, table: _Table, key: _Key, positions: Sequence[int]) -> bytes:
        """The JSON array of the items at ``positions``, joined once and cached under ``key``."""
        if positions is table.all_positions:
            return table.all_body
        body = self._cache.get(key)
        if body is not None:
            self._cache.move_to_end(key)
            return body
        body = _join([table.lines[i] for i in positions])
        self._cache[key] = body
        self._cache_bytes += len(body)
        while self._cache_bytes > _CACHE_BYTES:
            self._cache_bytes -= len(self._cache.popitem(last=False)[1])
        return body

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
        headers = {"Content-Type": "application/x-ndjson"}
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
        return _json_response(json.dumps({"delay": shown}).encode())


def _check_params(request: web.Request, allowed: frozenset[str], route: str) -> None:
    for key in request.query:
        if key not in allowed:
            raise _Reject(
                400,
                f"unknown query parameter {_show(key)} for {route}: it takes "
                f"{', '.join(sorted(allowed))}",
            )


def _select(
    table: _Table, scope: tuple[str, str] | None, query: Mapping[str, str]
) -> tuple[_Key, Sequence[int], int, tuple[int, int] | None]:
    """Filter and paginate as json-server does.

    Returns the normalised query (the filter values that can match, sorted, and the slice
    clamped to the matches: two queries with the same key have the same answer), the positions
    of the items to send, how many matched before paging, and (_page, _limit) if paged.
    """
    filters: dict[str, set[str]] = {}
    paging: dict[str, int] = {}
    for key, value in query.items():
        if key in _CONTROL:
            continue
        if key in _PAGING:
            if key in paging:
                raise _Reject(400, f"give {key} only once")
            paging[key] = _parse_int(value, key, 1 if key == "_page" else 0)
        elif key in table.index:
            filters.setdefault(key, set()).add(value)
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
    start, stop = paging.get("_start", 0), total
    if "_page" in paging:  # _page wins over _start and _end; _limit defaults to 10
        page = (paging["_page"], paging.get("_limit", 10))
        start, stop = (page[0] - 1) * page[1], page[0] * page[1]
    elif "_end" in paging:
        stop = paging["_end"]
    elif "_limit" in paging:
        stop = start + paging["_limit"]
    start = min(start, total)
    stop = max(start, min(stop, total))
    if (start, stop) != (0, total):
        positions = positions[start:stop]
    known = tuple(
        sorted(
            (field, tuple(sorted(values & table.index[field].keys())))
            for field, values in filters.items()
        )
    )
    return (table.name, scope, known, start, stop), positions, total, page


def _links(request: web.Request, page: int, limit: int, total: int) -> str:
    """A Link header with the first, previous, next and last pages, as json-server sends."""
    last = max(1, math.ceil(total / limit)) if limit else 1
    pages = {"first": 1, "prev": page - 1, "next": page + 1, "last": last}
    # From the Host header, not request.url: on aiohttp 3.9 with a recent yarl, request.url
    # fails for a host with a port. The Host was checked: it is this machine.
    host = request.headers.get("Host")
    base = f"http://{host}" if host else ""
    return ", ".join(
        f'<{base}{request.rel_url.update_query(_page=number, _limit=limit)}>; rel="{rel}"'
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

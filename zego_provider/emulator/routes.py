"""The emulator's admin routes under /_emulator/: a table of (method, path pattern) -> handler.

Unsigned JSON for tests and the demo: list and publish streams, read the request log, reset,
inject faults, change the configuration. Because they are unsigned, they answer only a request
addressed to a loopback Host and from no foreign Origin (a web page cannot reach them by DNS
rebinding or a cross-site form), and read only bodies declared and parsed as strict JSON.
Bodies are validated by pydantic models, so a refusal names the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from ..config import is_loopback_host
from . import strictjson
from .faults import FaultBook, FaultSpec, problem_of
from .ratewindow import SLIDING, RateWindowKind
from .state import EmulatorState
from .statefile import StateWriteError

ADMIN_PREFIX = "/_emulator"
MAX_QUERY_FIELDS = 64
"""More query parameters than this are refused (the API answers code 2), bounding the parsing work."""
_JSON_TYPE = re.compile(r"application/json\s*(;.*)?", re.IGNORECASE)


class HttpProblem(Exception):
    """An admin request refused with an HTTP status and a message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ConfigChange(BaseModel):
    """POST /_emulator/config: the settings to change (calls/s: 0 or null turns a limit off; sliding|bucket)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rate_limit: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    test_rate_limit: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    rate_window: RateWindowKind = SLIDING
    clear_empty_code: StrictInt = 0
    delete_unknown_code: StrictInt = 0
    create_existing_code: StrictInt = 0


@dataclass(frozen=True)
class AdminContext:
    """What the admin routes act on: the emulator's backend and its faults."""

    state: EmulatorState
    faults: FaultBook


@dataclass(frozen=True)
class AdminRequest:
    emulator: AdminContext
    path: Mapping[str, str]
    """The route pattern's named groups, URL-decoded."""
    query: Mapping[str, list[str]]
    body: Any
    """The parsed JSON body; None when there was none."""

    @property
    def state(self) -> EmulatorState:
        return self.emulator.state

    @property
    def faults(self) -> FaultBook:
        return self.emulator.faults

    def object_body(self, what: str) -> dict[str, Any]:
        body = {} if self.body is None else self.body
        if not isinstance(body, dict):
            raise HttpProblem(HTTPStatus.BAD_REQUEST, f"the {what} must be a JSON object")
        return body


AdminReply = tuple[HTTPStatus, Any]


def _streams(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, request.state.snapshot()


def _stream(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, request.state.rules(request.path["stream"])


def _publish(request: AdminRequest) -> AdminReply:
    stream_id = request.path["stream"]
    started = request.state.publish(stream_id)
    return HTTPStatus.OK, {"stream_id": stream_id, "started": started, "rules": request.state.rules(stream_id)}


def _requests(request: AdminRequest) -> AdminReply:
    actions = request.query.get("action")
    return HTTPStatus.OK, request.state.requests(actions[-1] if actions else None)


def _reset(request: AdminRequest) -> AdminReply:
    request.state.reset()
    request.faults.clear()
    return HTTPStatus.OK, {"reset": True}


def _faults(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, request.faults.describe()


def _add_fault(request: AdminRequest) -> AdminReply:
    spec = FaultSpec.model_validate(request.object_body("fault"))
    return HTTPStatus.CREATED, request.faults.add(spec)


def _clear_faults(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, {"cleared": request.faults.clear()}


def _config(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, request.state.config()


def _configure(request: AdminRequest) -> AdminReply:
    change = ConfigChange.model_validate(request.object_body("configuration"))
    return HTTPStatus.OK, request.state.configure(**change.model_dump(exclude_unset=True))


def _health(request: AdminRequest) -> AdminReply:
    return HTTPStatus.OK, {"status": "ok", "app_id": request.state.app_id}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[AdminRequest], AdminReply]


def _route(method: str, pattern: str, handler: Callable[[AdminRequest], AdminReply]) -> Route:
    return Route(method, re.compile(pattern), handler)


ADMIN_ROUTES: tuple[Route, ...] = (
    _route("GET", r"/streams", _streams),
    _route("GET", r"/streams/(?P<stream>[^/]+)", _stream),
    _route("POST", r"/streams/(?P<stream>[^/]+)/publish", _publish),
    _route("GET", r"/requests", _requests),
    _route("POST", r"/reset", _reset),
    _route("GET", r"/faults", _faults),
    _route("POST", r"/faults", _add_fault),
    _route("DELETE", r"/faults", _clear_faults),
    _route("GET", r"/config", _config),
    _route("POST", r"/config", _configure),
    _route("GET", r"/health", _health),
)
"""(method, path under /_emulator) -> handler; the path is matched still URL-encoded, groups are decoded."""


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for this request, or HttpProblem 404 (no such path) / 405 (path known, method not)."""
    allowed = []
    for route in ADMIN_ROUTES:
        match = route.pattern.fullmatch(path)
        if match is None:
            continue
        if route.method == method:
            return route, {name: unquote(value) for name, value in match.groupdict().items()}
        allowed.append(route.method)
    if allowed:
        raise HttpProblem(
            HTTPStatus.METHOD_NOT_ALLOWED, f"{ADMIN_PREFIX}{path} takes {', '.join(sorted(set(allowed)))}, not {method}"
        )
    raise HttpProblem(HTTPStatus.NOT_FOUND, f"no admin route {method} {ADMIN_PREFIX}{path}")


def is_loopback_authority(authority: str | None) -> bool:
    """A Host header (or an Origin's host part) naming a loopback address, with an optional port."""
    if not authority:
        return False
    try:
        parts = urlsplit("//" + authority)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return False
    return is_loopback_host(parts.hostname)


def is_loopback_origin(origin: str) -> bool:
    scheme, _, authority = origin.partition("://")
    return scheme in ("http", "https") and is_loopback_authority(authority)


def answer_admin(
    emulator: AdminContext, method: str, path: str, query: str, headers: Mapping[str, str | None], body: bytes
) -> tuple[HTTPStatus, Any]:
    """(status, JSON document) for one admin request; HttpProblem for one refused before any change."""
    if not is_loopback_authority(headers.get("Host")):
        raise HttpProblem(
            HTTPStatus.FORBIDDEN, "admin routes answer only a loopback Host (127.0.0.1, localhost, [::1])"
        )
    origin = headers.get("Origin")
    if origin is not None and not is_loopback_origin(origin):
        raise HttpProblem(HTTPStatus.FORBIDDEN, "admin routes answer no request from a foreign Origin")
    route, groups = find_route(method, path)
    document: Any = None
    if body:
        if not _JSON_TYPE.fullmatch((headers.get("Content-Type") or "").strip()):
            raise HttpProblem(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON (Content-Type: application/json)"
            )
        try:
            document = strictjson.loads(body)
        except ValueError as error:
            raise HttpProblem(HTTPStatus.BAD_REQUEST, f"the body must be JSON: {error}") from None
    request = AdminRequest(emulator, groups, parse_qs(query, max_num_fields=MAX_QUERY_FIELDS), document)
    try:
        return route.handler(request)
    except ValidationError as error:
        raise HttpProblem(HTTPStatus.BAD_REQUEST, problem_of(error)) from None
    except StateWriteError as error:
        raise HttpProblem(HTTPStatus.INTERNAL_SERVER_ERROR, f"nothing changed: {error}") from None

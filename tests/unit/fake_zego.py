"""A fake ZEGO client for in-process tests of both front-ends and of the lifecycle they share."""

from __future__ import annotations

from zego_provider.errors import ZegoApiError, ZegoInvalidInputError, ZegoServerError
from zego_provider.identity import relay_identity
from zego_provider.models import ZegoResponse

CREATE, DELETE, CLEAR = "create", "delete", "clear"
A = "rtmp://cdn-a.example.com/live/key-a?token=old"
A_NEW = "rtmp://cdn-a.example.com/live/key-a?token=new"
B = "rtmp://cdn-b.example.com/live/key-b"
C = "rtmp://cdn-c.example.com/live/key-c"
D = "rtmp://cdn-d.example.com/live/key-d"


class FakeZego:
    """Records each call and keeps rules as ZEGO does: a relay is its URL without the query, and a
    Create of a relay it already has succeeds but keeps the old URL. `fail` makes calls raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        self.rules: dict[str, list[str]] = {}
        self._failures: dict[tuple[str, str | None], ZegoApiError] = {}

    def fail(self, action: str, url: str | None, error: ZegoApiError) -> None:
        self._failures[(action, url)] = error

    def _call(self, action: str, stream_id: str, url: str | None) -> ZegoResponse:
        self.calls.append((action, stream_id, url))
        error = self._failures.get((action, url))
        if error is not None:
            raise error
        return ZegoResponse(code=0, message="ok", request_id="1")

    def create_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse:
        response = self._call(CREATE, stream_id, cdn_url)
        rules = self.rules.setdefault(stream_id, [])
        if all(relay_identity(rule) != relay_identity(cdn_url) for rule in rules):
            rules.append(cdn_url)
        return response

    def delete_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse:
        response = self._call(DELETE, stream_id, cdn_url)
        kept = [rule for rule in self.rules.get(stream_id, []) if relay_identity(rule) != relay_identity(cdn_url)]
        self.rules[stream_id] = kept
        return response

    def clear_cdn_transfer_rule(self, stream_id: str) -> ZegoResponse:
        response = self._call(CLEAR, stream_id, None)
        self.rules[stream_id] = []
        return response

    def live(self, stream_id: str) -> list[str]:
        return sorted(self.rules.get(stream_id, []))


def invalid(action: str = "CreatCDNTransferRule") -> ZegoInvalidInputError:
    return ZegoInvalidInputError(action, 5005, "invalid request", "req-1")


def server_error(action: str = "CreatCDNTransferRule") -> ZegoServerError:
    return ZegoServerError(action, 5000, "internal error", "req-2")

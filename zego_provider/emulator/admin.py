"""EmulatorAdmin: a small client of the emulator's /_emulator/ routes, for tests and the demo.

The admin routes are plain JSON over loopback; this wraps them so a test reads
`admin.publish("stream")` instead of building URLs, and works the same against an
in-process `ZegoEmulator` or one started with `python -m zego_provider.emulator`.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

import requests


class EmulatorAdminError(RuntimeError):
    """An admin route refused the request (bad fault, unknown setting...)."""


class EmulatorAdmin:
    """Talks to one emulator's admin routes at `url` (http://127.0.0.1:PORT)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # never route loopback admin calls through a proxy

    def __repr__(self) -> str:
        return f"EmulatorAdmin({self.url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def streams(self) -> dict[str, list[dict[str, str]]]:
        """Every stream with rules: {stream_id: [{"cdn_url": ..., "status": "scheduled" | "active"}]}."""
        return cast(dict[str, list[dict[str, str]]], self._call("GET", "/streams"))

    def stream(self, stream_id: str) -> list[dict[str, str]]:
        """The rules of one stream, [] when it has none."""
        return cast(list[dict[str, str]], self._call("GET", f"/streams/{quote(stream_id, safe='')}"))

    def publish(self, stream_id: str) -> dict[str, Any]:
        """Start publishing the stream: its scheduled relays become active. {"stream_id", "started", "rules"}."""
        return cast(dict[str, Any], self._call("POST", f"/streams/{quote(stream_id, safe='')}/publish"))

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first, optionally only one Action."""
        params = {"action": action} if action is not None else None
        return cast(list[dict[str, Any]], self._call("GET", "/requests", params=params))

    def reset(self) -> None:
        """Forget rules, sequences, the log, faults and spent rate tokens."""
        self._call("POST", "/reset")

    def inject(self, **fault: Any) -> dict[str, Any]:
        """Add a fault, e.g. `inject(code=5000, count=2, match={"action": "CreatCDNTransferRule"})`.

        `action=` and `stream_id=` are accepted as shortcuts for `match`.
        """
        match = dict(fault.pop("match", None) or {})
        for field in ("action", "stream_id"):
            if field in fault:
                match[field] = fault.pop(field)
        if match:
            fault["match"] = match
        return cast(dict[str, Any], self._call("POST", "/faults", json=fault))

    def faults(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", "/faults"))

    def clear_faults(self) -> int:
        """Remove every fault; returns how many there were."""
        return int(self._call("DELETE", "/faults")["cleared"])

    def configure(self, **switches: Any) -> dict[str, Any]:
        """Change rate_limit, test_rate_limit, rate_window (sliding|bucket), and the three switches' codes."""
        return cast(dict[str, Any], self._call("POST", "/config", json=switches))

    def config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "/config"))

    def health(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._call("GET", "/health"))

    def _call(self, method: str, path: str, **options: Any) -> Any:
        reply = self._session.request(method, f"{self.url}/_emulator{path}", timeout=self.timeout, **options)
        if reply.status_code >= 400:
            try:
                problem = reply.json().get("error", reply.text)
            except ValueError:
                problem = reply.text
            raise EmulatorAdminError(f"{method} /_emulator{path}: HTTP {reply.status_code}: {problem}")
        return reply.json()

"""The bad-input matrix as data: every case is refused before any request, naming its property.

`python -m tests.integration.bad_inputs` lists the cases; docs/development.md gives their count
(a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

APP_ID = 1234567890
OK_URL = "rtmp://cdn.example.com/live/key"


@dataclass(frozen=True)
class BadInput:
    label: str
    names: str  # the property (resource input) or setting the error must name
    props: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # stack config overrides (None-valued = removed)


def _stream(stream_id: Any) -> dict[str, Any]:
    return {"stream_id": stream_id, "cdn_urls": [OK_URL]}


def _urls(*urls: Any) -> dict[str, Any]:
    return {"stream_id": "stream", "cdn_urls": [OK_URL, *urls]}


RESOURCE_INPUTS = [
    BadInput("stream id empty", "stream_id", _stream("")),
    BadInput("stream id of 257 characters", "stream_id", _stream("s" * 257)),
    BadInput("stream id with a space", "stream_id", _stream("main stage")),
    BadInput("stream id with a tab", "stream_id", _stream("main\tstage")),
    BadInput("stream id with a newline", "stream_id", _stream("main\nstage")),
    BadInput("stream id with a NUL control character", "stream_id", _stream("main\x00stage")),
    BadInput("stream id with DEL (0x7f)", "stream_id", _stream("main\x7fstage")),
    BadInput("stream id with non-ASCII letters", "stream_id", _stream("bühne")),
    BadInput("stream id with `?` (not in ZEGO's set)", "stream_id", _stream("main?stage")),
    BadInput("stream id of the wrong type (a number)", "stream_id", _stream(42)),
    BadInput("stream id missing", "stream_id", {"cdn_urls": [OK_URL]}),
    BadInput(
        "test environment: stream id without `zegotest-<AppId>-`",
        "stream_id",
        _stream("main-stage"),
        {"zego:isTest": "true"},
    ),
    BadInput(
        "test environment: prefix of another AppId",
        "stream_id",
        _stream("zegotest-42-main"),
        {"zego:isTest": "true"},
    ),
    BadInput("CDN URL with http://", "cdn_urls[1]", _urls("http://cdn.example.com/live/key")),
    BadInput("CDN URL with https://", "cdn_urls[1]", _urls("https://cdn.example.com/live/key")),
    BadInput("CDN URL without a host", "cdn_urls[1]", _urls("rtmp:///live/key")),
    BadInput("CDN URL without a path", "cdn_urls[1]", _urls("rtmp://cdn.example.com")),
    BadInput("CDN URL that is not a URL", "cdn_urls[1]", _urls("cdn.example.com live")),
    BadInput("CDN URL with port 99999", "cdn_urls[1]", _urls("rtmp://cdn.example.com:99999/live/key")),
    BadInput("CDN URL with a space", "cdn_urls[1]", _urls("rtmp://cdn.example.com/live/my key")),
    BadInput("CDN URL empty", "cdn_urls[1]", _urls("")),
    BadInput("CDN URL over 2048 characters", "cdn_urls[1]", _urls("rtmp://cdn.example.com/live/" + "k" * 2048)),
    BadInput("CDN URL of the wrong type (a number)", "cdn_urls[1]", _urls(7)),
    BadInput("the same CDN URL twice", "cdn_urls", _urls(OK_URL)),
    BadInput("two CDN URLs that differ only in the query (one relay)", "cdn_urls", _urls(OK_URL + "?token=new")),
    BadInput("cdn_urls a string, not a list", "cdn_urls", {"stream_id": "stream", "cdn_urls": OK_URL}),
    BadInput(
        "21 CDN URLs (over the bound of 20)",
        "cdn_urls",
        {"stream_id": "stream", "cdn_urls": [f"{OK_URL}{i}" for i in range(21)]},
    ),
    BadInput(
        "stop_relays_on_delete not a boolean",
        "stop_relays_on_delete",
        {"stream_id": "stream", "cdn_urls": [], "stop_relays_on_delete": "yes"},
    ),
    BadInput("an unknown input (`cdn_url`)", "cdn_url", {"stream_id": "stream", "cdn_url": OK_URL}),
]

SETTINGS = [
    BadInput("AppId missing", "zego:appId", settings={"zego:appId": ""}),
    BadInput("AppId not a number", "zego:appId", settings={"zego:appId": "my-app"}),
    BadInput("AppId 0", "zego:appId", settings={"zego:appId": "0"}),
    BadInput("AppId over 4294967295", "zego:appId", settings={"zego:appId": "4294967296"}),
    BadInput("ServerSecret empty", "zego:serverSecret", settings={"zego:serverSecret": ""}),
    BadInput("ServerSecret with surrounding spaces", "zego:serverSecret", settings={"zego:serverSecret": " s3cret "}),
    BadInput(
        "endpoint plain http:// to a non-loopback host",
        "zego:endpoint",
        settings={"zego:endpoint": "http://rtc-api.zego.im"},
    ),
    BadInput(
        "endpoint with a query string", "zego:endpoint", settings={"zego:endpoint": "https://rtc-api.zego.im/?a=1"}
    ),
    BadInput("endpoint not http(s)", "zego:endpoint", settings={"zego:endpoint": "ftp://127.0.0.1"}),
    BadInput(
        "endpoint with user info after a backslash (`http://evil.example\\@127.0.0.1`)",
        "zego:endpoint",
        settings={"zego:endpoint": "http://evil.example\\@127.0.0.1"},
    ),
    BadInput(
        "endpoint with user info (`http://user@127.0.0.1`)",
        "zego:endpoint",
        settings={"zego:endpoint": "http://user@127.0.0.1"},
    ),
    BadInput(
        "endpoint with ideographic full stops (`127\u30020\u30020\u30021`)",
        "zego:endpoint",
        settings={"zego:endpoint": "http://127\u30020\u30020\u30021"},
    ),
    BadInput(
        "endpoint with a hex IPv4 host (`http://0x7f.1`)", "zego:endpoint", settings={"zego:endpoint": "http://0x7f.1"}
    ),
    BadInput(
        "endpoint with a path (`https://rtc-api.zego.im/v2`)",
        "zego:endpoint",
        settings={"zego:endpoint": "https://rtc-api.zego.im/v2"},
    ),
    BadInput("endpoint with a space", "zego:endpoint", settings={"zego:endpoint": "https://rtc-api.zego.im /"}),
    BadInput("AppId with fullwidth digits", "zego:appId", settings={"zego:appId": "\uff11\uff12\uff13"}),
    BadInput(
        "ServerSecret with a control character (ESC)",
        "zego:serverSecret",
        settings={"zego:serverSecret": "s3cret\x1b[2J"},
    ),
    BadInput("isTest not a boolean", "zego:isTest", settings={"zego:isTest": "maybe"}),
    BadInput("rateLimit negative", "zego:rateLimit", settings={"zego:rateLimit": "-1"}),
    BadInput("rateLimiter not a known scope", "zego:rateLimiter", settings={"zego:rateLimiter": "cluster"}),
    BadInput(
        "rateLimiter a URL that is not Redis",
        "zego:rateLimiter",
        settings={"zego:rateLimiter": "memcached://127.0.0.1:11211"},
    ),
    BadInput(
        "rateLimiter Redis URL with port 99999 (its password never echoed)",
        "zego:rateLimiter",
        settings={"zego:rateLimiter": "redis://:s3cret@127.0.0.1:99999/0"},
    ),
    BadInput("callTimeBudget 0", "zego:callTimeBudget", settings={"zego:callTimeBudget": "0"}),
]


def main() -> int:
    """The matrix as a Markdown table: what is refused, and the property or setting the refusal names."""
    print("| bad input | refused on |\n|---|---|")
    for case in RESOURCE_INPUTS + SETTINGS:
        print(f"| {case.label} | `{case.names}` |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

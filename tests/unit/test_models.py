"""Rule-set inputs: what a stream id and a CDN URL may be, checked before any request."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from zego_provider.models import MAX_CDN_URLS, RuleSetInputs, ZegoResponse, stream_prefix_for_test_env


def _problems(data: dict[str, Any], **context: Any) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as caught:
        RuleSetInputs.model_validate(data, context=context or None)
    return [problem["loc"] for problem in caught.value.errors()]


def test_urls_are_stored_sorted_so_order_is_never_a_change() -> None:
    inputs = RuleSetInputs.model_validate({"stream_id": "s", "cdn_urls": ["rtmp://b/x/1", "rtmp://a/x/1"]})
    assert inputs.cdn_urls == ["rtmp://a/x/1", "rtmp://b/x/1"]
    assert inputs.stop_relays_on_delete is True


def test_an_empty_rule_set_is_valid() -> None:
    assert RuleSetInputs.model_validate({"stream_id": "s"}).cdn_urls == []


def test_reserved_characters_are_legal_in_stream_ids() -> None:
    assert RuleSetInputs.model_validate({"stream_id": "a&b#c+d%e=f/g\\h`i"}).stream_id == "a&b#c+d%e=f/g\\h`i"


@pytest.mark.parametrize("stream_id", ["", "x" * 257, "has space", "tab\t", "new\nline", "nul\x00", "ünïcode", "a?b"])
def test_bad_stream_ids_are_refused_on_that_property(stream_id: str) -> None:
    assert _problems({"stream_id": stream_id}) == [("stream_id",)]


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/live/key",
        "https://cdn.example.com/live/key",
        "rtmp:///live/key",
        "rtmp://cdn.example.com",
        "rtmp://cdn.example.com:99999/live/key",
        "rtmp://cdn.example.com:0/live/key",
        "rtmp://cdn.example.com/live key",
        "cdn.example.com/live/key",
        "",
    ],
)
def test_bad_cdn_urls_are_refused_with_their_index(url: str) -> None:
    assert _problems({"stream_id": "s", "cdn_urls": ["rtmp://ok.example.com/a/b", url]}) == [("cdn_urls", 1)]


def test_duplicate_urls_are_refused() -> None:
    assert _problems({"stream_id": "s", "cdn_urls": ["rtmp://a/x/1", "rtmp://a/x/1"]}) == [("cdn_urls",)]


def test_urls_that_differ_only_in_the_query_are_one_relay_and_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        RuleSetInputs.model_validate(
            {"stream_id": "s", "cdn_urls": ["rtmp://a/x/1?token=old", "rtmp://b/x/1", "rtmp://a/x/1?token=new"]}
        )
    [problem] = caught.value.errors()
    assert problem["loc"] == ("cdn_urls",)
    assert problem["msg"].startswith("cdn_urls[0] and cdn_urls[2] are the same relay")


def test_urls_that_differ_in_the_path_are_different_relays() -> None:
    urls = ["rtmp://a/x/1?token=t", "rtmp://a/x/2?token=t"]
    assert RuleSetInputs.model_validate({"stream_id": "s", "cdn_urls": urls}).cdn_urls == urls


def test_the_test_environment_prefix_names_the_app() -> None:
    assert stream_prefix_for_test_env(123456789) == "zegotest-123456789-"


def test_too_many_urls_are_refused() -> None:
    urls = [f"rtmp://cdn.example.com/live/{i}" for i in range(MAX_CDN_URLS + 1)]
    assert _problems({"stream_id": "s", "cdn_urls": urls}) == [("cdn_urls",)]


@pytest.mark.parametrize(
    "data",
    [
        {"stream_id": 5},
        {"stream_id": "s", "cdn_urls": "rtmp://a/x/1"},
        {"stream_id": "s", "stop_relays_on_delete": "no"},
    ],
)
def test_wrong_types_are_refused(data: dict[str, Any]) -> None:
    assert len(_problems(data)) >= 1


def test_test_environment_requires_the_prefix() -> None:
    assert _problems({"stream_id": "plain"}, app_id=123456789, is_test=True) == [("stream_id",)]
    ok = RuleSetInputs.model_validate(
        {"stream_id": "zegotest-123456789-test"}, context={"app_id": 123456789, "is_test": True}
    )
    assert ok.stream_id == "zegotest-123456789-test"


def test_unknown_inputs_are_refused() -> None:
    assert _problems({"stream_id": "s", "cdn_url": "rtmp://a/x/1"}) == [("cdn_url",)]


def test_response_envelope_accepts_numeric_request_ids() -> None:
    response = ZegoResponse.model_validate({"Code": 0, "Message": "ok", "RequestId": 4741109603321226039, "Data": None})
    assert response.ok and response.request_id == "4741109603321226039"

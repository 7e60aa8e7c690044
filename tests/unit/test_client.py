"""ZegoClient against mocked HTTP: encoding, signing per attempt, errors and the retry policy."""

from __future__ import annotations

import http.client
import itertools
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import urllib3.exceptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.settings import config_of
from zego_provider import (
    ZegoApiError,
    ZegoAuthenticationError,
    ZegoClient,
    ZegoConfigError,
    ZegoRateLimitError,
    ZegoServerError,
    ZegoTransportError,
    sign,
)

ENDPOINT = "https://rtc-api.zego.im"
URL = ENDPOINT + "/"
SECRET = "0123456789abcdef0123456789abcdef"
_app_ids = itertools.count(700_000_001)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> Iterator[ZegoClient]:
    with ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="off"), sleep=sleeps) as zego:
        yield zego


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def reply(code: int = 0, request_id: str = "4741109603321226039", message: str = "ok") -> dict[str, object]:
    return {"json": {"Code": code, "Message": message, "RequestId": request_id, "Data": None}}


def sent(mock: responses.RequestsMock) -> list[dict[str, str]]:
    return [
        {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()} for call in mock.calls
    ]


def test_create_sends_the_action_its_parameters_and_a_valid_signature(
    client: ZegoClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, **reply())
    response = client.create_cdn_transfer_rule("rtc01", "rtmp://cdn.example.com/live/rtc01")
    assert response.ok and response.request_id == "4741109603321226039"
    [params] = sent(mocked)
    assert params["Action"] == "CreatCDNTransferRule"
    assert params["StreamId"] == "rtc01"
    assert params["CDNUrl"] == "rtmp://cdn.example.com/live/rtc01"
    assert int(params["Sequence"]) > 1_600_000_000_000
    assert params["Signature"] == sign(client.config.app_id, params["SignatureNonce"], SECRET, int(params["Timestamp"]))
    assert SECRET not in mocked.calls[0].request.url


def test_delete_and_clear_send_their_actions(client: ZegoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, **reply())
    client.delete_cdn_transfer_rule("s", "rtmp://a/b/c")
    client.clear_cdn_transfer_rule("s")
    first, second = sent(mocked)
    assert (first["Action"], first["CDNUrl"]) == ("DeleteCDNTransferRule", "rtmp://a/b/c")
    assert second["Action"] == "ClearCDNTransferRule" and "CDNUrl" not in second


STREAM_CHARS = st.text(alphabet="abcXYZ019~!@#$%^&*()_+=-`;',.<>/\\", min_size=1, max_size=64)
QUERY_VALUES = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream_id=STREAM_CHARS, token=QUERY_VALUES, extra=QUERY_VALUES)
def test_every_query_value_survives_encoding_exactly_once(
    client: ZegoClient, stream_id: str, token: str, extra: str
) -> None:
    cdn_url = f"rtmp://cdn.example.com/live/key?token={token}&x={extra}%20y#frag"
    with responses.RequestsMock() as mock:
        mock.get(URL, **reply())
        client.create_cdn_transfer_rule(stream_id, cdn_url)
        [params] = sent(mock)
    assert params["StreamId"] == stream_id
    assert params["CDNUrl"] == cdn_url


# Which codes are retryable is the error table's (test_errors.py); one code of each kind here.
@pytest.mark.parametrize("code", [5000, 5007])
def test_retryable_codes_are_retried_until_ok(client: ZegoClient, mocked: responses.RequestsMock, code: int) -> None:
    mocked.get(URL, **reply(code, "r1"))
    mocked.get(URL, **reply(code, "r2"))
    mocked.get(URL, **reply(0, "r3"))
    assert client.clear_cdn_transfer_rule("s").request_id == "r3"
    assert len(mocked.calls) == 3


@pytest.mark.parametrize("code", [2, 100000004, 5005, 424242])
def test_other_codes_fail_at_once_naming_code_and_request_id(
    client: ZegoClient, mocked: responses.RequestsMock, code: int
) -> None:
    mocked.get(URL, **reply(code, "rid-77", "refused"))
    with pytest.raises(ZegoApiError) as caught:
        client.create_cdn_transfer_rule("s", "rtmp://a/b/c")
    assert len(mocked.calls) == 1
    assert caught.value.code == code
    assert caught.value.request_id == "rid-77"
    assert caught.value.action == "CreatCDNTransferRule"
    assert str(code) in str(caught.value) and "rid-77" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_authentication_failure_5003_is_not_retried(client: ZegoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, **reply(5003, "rid-auth"))
    with pytest.raises(ZegoAuthenticationError):
        client.clear_cdn_transfer_rule("s")
    assert len(mocked.calls) == 1


def test_rate_limited_twice_then_ok_waits_out_the_window(
    client: ZegoClient, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, **reply(5007))
    mocked.get(URL, **reply(30002))
    mocked.get(URL, **reply(0))
    assert client.clear_cdn_transfer_rule("s").ok
    # Equal jitter over two windows, then four: never back within the refused call's second.
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 4.0


def test_backoff_grows_exponentially_with_jitter(
    client: ZegoClient, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, **reply(5000))
    with pytest.raises(ZegoServerError):
        client.clear_cdn_transfer_rule("s")
    assert len(mocked.calls) == client.config.max_attempts == 5
    assert 0.125 <= sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5
    assert 0.5 <= sleeps[2] <= 1.0 and 1.0 <= sleeps[3] <= 2.0


def test_server_errors_stop_when_attempts_run_out(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(URL, **reply(5000, "rid-last"))
    zego = ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="off", max_attempts=3), sleep=sleeps)
    with zego, pytest.raises(ZegoServerError) as caught:
        zego.clear_cdn_transfer_rule("s")
    assert len(mocked.calls) == 3
    assert caught.value.request_id == "rid-last"


def test_rate_limit_answers_are_retried_past_max_attempts_within_the_time_budget(
    mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    for _ in range(7):
        mocked.get(URL, **reply(5007))
    mocked.get(URL, **reply(0))
    zego = ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="off", max_attempts=2), sleep=sleeps)
    with zego:
        assert zego.clear_cdn_transfer_rule("s").ok
    assert len(mocked.calls) == 8


def test_retries_stop_when_the_time_budget_runs_out_naming_the_setting(
    mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, **reply(5007, "rid-last"))
    zego = ZegoClient(
        config_of(next(_app_ids), SECRET, rate_limiter="off", call_time_budget=0.5), sleep=sleeps, random=lambda: 1.0
    )
    with zego, pytest.raises(ZegoRateLimitError) as caught:
        zego.clear_cdn_transfer_rule("s")
    assert len(mocked.calls) == 1 and sleeps == []
    assert caught.value.request_id == "rid-last" and caught.value.code == 5007
    assert "zego:callTimeBudget" in str(caught.value) and "0.5s" in str(caught.value)


def test_a_rate_limit_answer_lowers_the_clients_rate(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(URL, **reply(5007))
    mocked.get(URL, **reply(0))
    with ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="process"), sleep=sleeps) as zego:
        assert zego._budget.adaptive is not None
        zego.clear_cdn_transfer_rule("s")
        assert zego._budget.adaptive.rate == pytest.approx(9.5)  # a tenth off, then one success gives back 1/20


def test_backoff_is_pinned_by_injected_randomness() -> None:
    from zego_provider.retry import backoff

    assert [backoff(n, base=0.25, cap=1.0, random=lambda: 0.0) for n in range(4)] == [0.125, 0.25, 0.5, 0.5]
    assert [backoff(n, base=0.25, cap=1.0, random=lambda: 1.0) for n in range(4)] == [0.25, 0.5, 1.0, 1.0]
    assert backoff(10_000, base=1.0, cap=4.0, random=lambda: 0.5) == 3.0


def test_every_attempt_is_signed_and_sequenced_anew(client: ZegoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, **reply(5000))
    mocked.get(URL, **reply(1))
    mocked.get(URL, **reply(0))
    client.delete_cdn_transfer_rule("s", "rtmp://a/b/c")
    attempts = sent(mocked)
    assert len({attempt["SignatureNonce"] for attempt in attempts}) == 3
    assert len({attempt["Signature"] for attempt in attempts}) == 3
    sequences = [int(attempt["Sequence"]) for attempt in attempts]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_is_retried(client: ZegoClient, mocked: responses.RequestsMock, status: int) -> None:
    mocked.get(URL, status=status, body="upstream trouble")
    mocked.get(URL, **reply())
    assert client.clear_cdn_transfer_rule("s").ok
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(
    "failure",
    [requests.ReadTimeout("slow"), requests.ConnectTimeout("no answer"), requests.ConnectionError("reset by peer")],
)
def test_timeouts_and_dropped_connections_are_retried(
    client: ZegoClient, mocked: responses.RequestsMock, failure: Exception
) -> None:
    mocked.get(URL, body=failure)
    mocked.get(URL, **reply())
    assert client.clear_cdn_transfer_rule("s").ok
    assert len(mocked.calls) == 2


def test_a_lasting_transport_failure_ends_in_a_transport_error(
    client: ZegoClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(ZegoTransportError) as caught:
        client.clear_cdn_transfer_rule("s")
    assert "connection failed" in str(caught.value) and "ClearCDNTransferRule" in str(caught.value)


def test_a_body_that_is_not_zego_json_is_retried(client: ZegoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, body="<html>oops</html>")
    mocked.get(URL, **reply())
    assert client.clear_cdn_transfer_rule("s").ok


@pytest.mark.parametrize("status", [400, 404, 499])
def test_a_4xx_page_is_not_retried(client: ZegoClient, mocked: responses.RequestsMock, status: int) -> None:
    mocked.get(URL, status=status, body="not found")
    with pytest.raises(ZegoApiError) as caught:
        client.clear_cdn_transfer_rule("s")
    assert not isinstance(caught.value, ZegoServerError | ZegoTransportError)
    assert len(mocked.calls) == 1 and f"HTTP {status}" in str(caught.value)


def test_plain_http_is_refused_unless_loopback() -> None:
    with pytest.raises(ZegoConfigError, match="loopback"):
        ZegoClient(config_of(1, SECRET, endpoint="http://rtc-api.zego.im"))
    ZegoClient(config_of(1, SECRET, endpoint="http://127.0.0.1:9")).close()


def test_tls_verification_stays_on(client: ZegoClient) -> None:
    assert client._session.verify is True


def test_clients_of_one_app_share_one_rate_limiter() -> None:
    app_id = next(_app_ids)
    with (
        ZegoClient(config_of(app_id, SECRET, rate_limiter="process")) as first,
        ZegoClient(config_of(app_id, SECRET, rate_limiter="process")) as second,
    ):
        assert first._budget is second._budget
        assert first._budget.adaptive is not None and first._budget.adaptive.rate == 10
    with ZegoClient(config_of(next(_app_ids), SECRET, is_test=True, rate_limiter="process")) as test_client:
        assert test_client._budget.adaptive is not None and test_client._budget.adaptive.rate == 5


def test_the_client_config_tells_the_truth() -> None:
    with ZegoClient(
        config_of(
            next(_app_ids),
            SECRET,
            connect_timeout=1.0,
            timeout=7.0,
            max_attempts=3,
            rate_limit=4,
            rate_limiter="process",
        )
    ) as zego:
        config = zego.config
        assert (config.connect_timeout, config.timeout, config.max_attempts) == (1.0, 7.0, 3)
        assert (config.rate_limit, config.effective_rate_limit, config.rate_limiter) == (4, 4, "process")
        assert zego._budget.adaptive is not None and zego._budget.adaptive.rate == 4


def test_rate_limit_none_means_zegos_limit_in_the_client_as_in_the_settings() -> None:
    with ZegoClient(config_of(next(_app_ids), SECRET, rate_limit=None, rate_limiter="process")) as zego:
        assert zego.config.rate_limit is None and zego.config.effective_rate_limit == 10
        assert zego._budget.adaptive is not None and zego._budget.adaptive.rate == 10


def test_off_is_the_one_spelling_of_no_limiter() -> None:
    with ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="off")) as zego:
        assert zego._budget.adaptive is None and zego.config.rate_limiter == "off"
    with pytest.raises(ZegoConfigError, match="rate_limiter"):
        ZegoClient(config_of(next(_app_ids), SECRET, rate_limiter="none"))


def test_from_env_reads_the_documented_variables() -> None:
    env = {
        "ZEGO_APP_ID": "77",
        "ZEGO_SERVER_SECRET": SECRET,
        "ZEGO_IS_TEST": "true",
        "ZEGO_API_ENDPOINT": "http://127.0.0.1:1",
    }
    with ZegoClient.from_env(env) as zego:
        assert (zego.config.app_id, zego.config.is_test, zego.config.endpoint) == (77, True, "http://127.0.0.1:1")
        assert SECRET not in repr(zego)


def test_from_env_without_credentials_is_a_config_error() -> None:
    with pytest.raises(ZegoConfigError, match="ZEGO_APP_ID"):
        ZegoClient.from_env({})


def _wrapped(cause: BaseException) -> requests.ConnectionError:
    """A ConnectionError as requests raises it: MaxRetryError(reason=ProtocolError(..., cause))."""
    from urllib3.exceptions import MaxRetryError, ProtocolError

    reason = ProtocolError("Connection aborted.", cause)
    return requests.ConnectionError(MaxRetryError(None, "/?Action=X&Signature=feedface", reason))  # type: ignore[arg-type]


TRANSPORT_FAILURES = {
    "read timeout": (requests.ReadTimeout("slow"), "timed out waiting for the reply"),
    "connect timeout": (requests.ConnectTimeout("no answer"), "timed out connecting"),
    "connection refused": (_wrapped(ConnectionRefusedError(111, "refused")), "connection refused"),
    "connection reset": (_wrapped(ConnectionResetError(104, "reset")), "connection reset"),
    "closed without a reply": (_wrapped(http.client.RemoteDisconnected("gone")), "connection closed without a reply"),
    "too many headers": (_wrapped(http.client.HTTPException("got more than 100 headers")), "malformed reply"),
    "header line too long": (_wrapped(http.client.LineTooLong("header line")), "too long"),
    "body cut short": (requests.exceptions.ChunkedEncodingError("cut"), "reply cut short or badly chunked"),
    "urllib3 incomplete read": (
        requests.exceptions.ChunkedEncodingError(_wrapped(urllib3.exceptions.IncompleteRead(10, 90))),
        "reply cut short",
    ),
    "bad content encoding": (requests.exceptions.ContentDecodingError("bad gzip"), "could not be decoded"),
    "TLS failure": (requests.exceptions.SSLError("certificate verify failed"), "TLS"),
    "proxy failure": (requests.exceptions.ProxyError("proxy"), "proxy"),
    "invalid header": (requests.exceptions.InvalidHeader("bad header"), "request failed"),
    "any other requests failure": (requests.RequestException("?"), "request failed"),
}


@pytest.mark.parametrize(("failure", "kind"), TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
def test_every_transport_failure_is_a_retried_transport_error(
    client: ZegoClient, mocked: responses.RequestsMock, failure: Exception, kind: str
) -> None:
    mocked.get(URL, body=failure)
    mocked.get(URL, **reply())
    assert client.clear_cdn_transfer_rule("s").ok
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(("failure", "kind"), TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
def test_a_lasting_transport_failure_names_its_kind_but_never_the_url(
    client: ZegoClient, mocked: responses.RequestsMock, failure: Exception, kind: str
) -> None:
    mocked.get(URL, body=failure)
    with pytest.raises(ZegoTransportError) as caught:
        client.create_cdn_transfer_rule("s", "rtmp://cdn/a/b?token=t0k3n")
    error = caught.value
    assert kind in str(error) and "CreatCDNTransferRule" in str(error)
    assert error.retryable and isinstance(error, ZegoServerError)
    assert len(mocked.calls) == client.config.max_attempts
    sent_signatures = [params["Signature"] for params in sent(mocked)]
    chain: list[BaseException] = [error]  # a traceback shows the whole chain: no signed URL in it
    while len(chain) < 10 and (link := chain[-1].__cause__ or chain[-1].__context__) and link not in chain:
        chain.append(link)
    assert not any(isinstance(link, requests.RequestException) for link in chain)
    for text in [repr(vars(error))] + [f"{link} {link!r}" for link in chain]:
        assert "Signature" not in text and "t0k3n" not in text and "feedface" not in text
        assert not any(signature in text for signature in sent_signatures)


def test_a_redirect_is_not_followed_and_not_retried(client: ZegoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=307, headers={"Location": "https://elsewhere.example/?leak=Signature"})
    mocked.get("https://elsewhere.example/", **reply())
    with pytest.raises(ZegoApiError) as caught:
        client.clear_cdn_transfer_rule("s")
    assert not caught.value.retryable
    assert [call.request.url.split("?")[0] for call in mocked.calls] == [URL]
    text = str(caught.value)
    assert "HTTP 307" in text and ENDPOINT in text and "redirect" in text and "leak" not in text


@pytest.mark.parametrize("status", [301, 302, 303, 308])
def test_no_redirect_status_is_followed(client: ZegoClient, mocked: responses.RequestsMock, status: int) -> None:
    mocked.get(URL, status=status, headers={"Location": "https://elsewhere.example/"})
    with pytest.raises(ZegoApiError, match=f"HTTP {status}"):
        client.clear_cdn_transfer_rule("s")
    assert len(mocked.calls) == 1


def test_requests_go_to_the_endpoint_rebuilt_from_its_parsed_pieces(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, **reply())
    with ZegoClient(
        config_of(next(_app_ids), SECRET, endpoint="HTTPS://RTC-API.ZEGO.IM:443/", rate_limit=None)
    ) as zego:
        assert zego.config.endpoint == "https://rtc-api.zego.im:443"
        mocked.get("https://rtc-api.zego.im:443/", **reply())
        zego.clear_cdn_transfer_rule("s")
    assert urlsplit(mocked.calls[0].request.url).netloc in ("rtc-api.zego.im", "rtc-api.zego.im:443")

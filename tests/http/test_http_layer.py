"""The shared HTTP layer: limits, retries and errors, with a fake clock (no test waits)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connector.crm.activecampaign import ActiveCampaignCRM
from connector.errors import AuthError, NetworkError, RateLimited, ServerError, SkipRecord
from connector.http import HttpLayer, Limit, RateLimiter, RawResponse
from connector.http.policy import STATUS_TABLE, Behaviour
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.faults import FaultPlan
from connector.sandbox.population import Population
from connector.sandbox.server import Server

SECRET = "api-token-very-secret"


def layer(clock: FakeClock, **limits: Limit) -> HttpLayer:
    limiter = RateLimiter(limits or {"default": Limit(5, 1.0, burst=5)}, clock)
    return HttpLayer("activecampaign", "nordic", limiter,
                     clock=ClockParts(monotonic=clock.monotonic, sleep=clock.sleep),
                     max_attempts=5, secrets=[SECRET])


def replies(*responses):
    queue = list(responses)
    calls = []

    def send():
        calls.append(1)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item
    return send, calls


def ok(body=None) -> RawResponse:
    return RawResponse(200, {}, json.dumps(body or {"ok": True}).encode())


def test_status_table_is_data():
    assert STATUS_TABLE[429] is Behaviour.WAIT and STATUS_TABLE[503] is Behaviour.RETRY
    assert STATUS_TABLE[401] is Behaviour.AUTH and STATUS_TABLE[422] is Behaviour.REPORT


def test_token_bucket_keeps_to_five_per_second():
    clock = FakeClock()
    http = layer(clock)
    for _ in range(25):
        http.send("default", "GET", "http://x/api/3/contacts", lambda: ok())
    assert 3.9 <= clock.slept <= 4.1  # 5 in the burst, then 20 more at 5/s


def test_rolling_window_like_hubspot():
    clock = FakeClock()
    http = layer(clock, default=Limit(100, 10.0))
    for _ in range(250):
        http.send("default", "GET", "http://x/crm", lambda: ok())
    assert 20 <= clock.slept <= 21


def test_retry_after_is_honoured():
    clock = FakeClock()
    send, calls = replies(RawResponse(429, {"retry-after": "3"}, b'{"message":"slow"}'), ok())
    layer(clock).send("default", "GET", "http://x/a", send)
    assert len(calls) == 2 and clock.slept >= 3


def test_server_errors_back_off_then_succeed():
    clock = FakeClock()
    send, calls = replies(RawResponse(502, {}, b""), RawResponse(503, {}, b""), ok())
    layer(clock).send("default", "GET", "http://x/a", send)
    assert len(calls) == 3 and clock.slept > 0


def test_timeouts_resets_and_malformed_json_are_retried():
    clock = FakeClock()
    send, calls = replies(TimeoutError("read timed out"), ConnectionResetError("reset"),
                          RawResponse(200, {}, b'{"results": ['), ok())
    layer(clock).send("default", "GET", "http://x/a", send)
    assert len(calls) == 4


def test_gives_up_after_max_attempts_with_a_retry_later_error():
    clock = FakeClock()
    send, calls = replies(*[RawResponse(500, {}, b"{}")] * 5)
    with pytest.raises(ServerError):
        layer(clock).send("default", "GET", "http://x/a", send)
    assert len(calls) == 5


@pytest.mark.parametrize("status, error", [(401, AuthError), (403, AuthError),
                                           (422, SkipRecord), (400, SkipRecord)])
def test_4xx_are_not_retried(status, error):
    clock = FakeClock()
    send, calls = replies(RawResponse(status, {}, b'{"message": "no"}'))
    with pytest.raises(error):
        layer(clock).send("default", "GET", "http://x/a", send)
    assert len(calls) == 1


def test_errors_name_crm_client_endpoint_and_fix_but_never_the_token():
    clock = FakeClock()
    body = json.dumps({"message": f"Forbidden for token {SECRET}"}).encode()
    send, _ = replies(RawResponse(403, {}, body))
    with pytest.raises(AuthError) as info:
        layer(clock).send("default", "GET", f"http://x/api/3/contacts?api_key={SECRET}", send)
    text = str(info.value)
    assert "activecampaign client 'nordic'" in text and "GET /api/3/contacts" in text
    assert "check the token for client 'nordic'" in text
    assert SECRET not in text


def test_ac_422_errors_list_becomes_a_clear_message():
    clock = FakeClock()
    body = json.dumps({"errors": [{"title": "Invalid", "detail": "Field type is not valid",
                                   "code": "field_invalid", "source": {"pointer": "/x"}}]})
    send, _ = replies(RawResponse(422, {}, body.encode()))
    with pytest.raises(SkipRecord, match="Field type is not valid"):
        layer(clock).send("default", "POST", "http://x/api/3/fields", send)


def test_network_errors_are_named():
    clock = FakeClock()
    send, _ = replies(*[ConnectionRefusedError("refused")] * 5)
    with pytest.raises(NetworkError, match="ConnectionRefusedError"):
        layer(clock).send("default", "GET", "http://x/a", send)


def test_stats_count_calls_and_retries():
    clock = FakeClock()
    send, _ = replies(RawResponse(429, {"retry-after": "1"}, b"{}"), ok())
    http = layer(clock)
    http.send("default", "GET", "http://x/api/3/contacts", send)
    assert http.stats.calls["default"] == 2
    assert http.stats.retried["GET /api/3/contacts"] == 1
    assert isinstance(RateLimited("x", crm="c", client="d", endpoint="e"), Exception)


NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
             + b"<!-- a padding comment -->\r\n" * 20 + b"</body>\r\n</html>\r\n")


def test_an_html_error_page_is_summarised_by_status_and_title():
    clock = FakeClock()
    send, _ = replies(*[RawResponse(502, {"content-type": "text/html"}, NGINX_502)] * 5)
    with pytest.raises(ServerError) as info:
        layer(clock).send("default", "GET", "http://x/api/3/contacts", send)
    assert str(info.value) == (
        "activecampaign client 'nordic': GET /api/3/contacts (HTTP 502): an HTML error page "
        "titled '502 Bad Gateway'; fix: the CRM is failing; the next sync retries")


def test_a_json_server_error_keeps_its_message():
    clock = FakeClock()
    body = json.dumps({"status": "error", "message": "Internal error, try again",
                       "correlationId": "abc"}).encode()
    send, _ = replies(*[RawResponse(500, {"content-type": "application/json"}, body)] * 5)
    with pytest.raises(ServerError) as info:
        layer(clock).send("default", "GET", "http://x/crm/v3/objects/contacts", send)
    assert "(HTTP 500): Internal error, try again; fix:" in str(info.value)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_a_429s_retry_after_is_waited_in_seconds_or_as_an_http_date(form):
    """RFC 9110 section 10.2.3: "either an HTTP-date or a number of seconds". Through the
    real adapter and HTTP layer against the sandbox's 429; the fake clock does the waiting."""
    clock = FakeClock(datetime(2026, 11, 2, 9, tzinfo=UTC))
    wait = 9 if form == "seconds" else format_datetime(clock.now() + timedelta(seconds=9),
                                                       usegmt=True)
    app = ACSandbox(FaultPlan(burst=1, retry_after=wait))
    app.add_account(SECRET, ACAccount("nordic", Population(3, seed=1), clock=clock,
                                      requests_per_second=100_000))
    with Server(app) as server:
        crm = ActiveCampaignCRM("nordic", SECRET, server.url, clock=clock,
                                requests_per_second=100_000)
        assert [c.id for c in crm.get_contacts_by_id(["1", "2"])] == ["1", "2"]
        crm.close()
    assert app.ledger.count("/api/3/contacts", status=429) == 1
    assert 9.0 <= clock.slept < 9.5  # not the limiter's 1.1 s window: the server's 9 s

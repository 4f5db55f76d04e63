"""`connector doctor` against the HubSpot sandbox: green on a full portal, and one row
naming the fallback and the fix for each capability the portal lacks. Every run stays
read-only: at most 30 CRM calls, no write, no mail."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import formatdate
from types import SimpleNamespace

import pytest

from connector.clock import SystemClock
from connector.doctor import MAX_CALLS, examine, exit_code
from connector.doctor.common import limits_rows
from connector.http.policy import RawResponse
from connector.http.ratelimit import RateLimiter
from connector.http.transport import HttpLayer
from connector.sandbox.hubspot import DEFAULT_SCOPES, HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink

from ..e2e.helpers import client_config

TOKEN = "pat-na1-doctor-0000"
ENV = {"TEST_TOKEN": TOKEN}
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
READS = ("GET", "HEAD")
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"


def doctor(**account_options):
    """The doctor's rows for a portal with these options, and the sandbox's ledger."""
    app = HubSpotSandbox()
    options = {"plan": "enterprise", **account_options}
    app.add_account(TOKEN, HubSpotAccount("acme", Population(20, seed=3, now=NOW),
                                          ten_second_limit=100_000, **options))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port)
        rows = examine(client, env=ENV)
        assert sink.messages == []  # no mail, ever
    entries = app.ledger.entries
    assert len(entries) <= MAX_CALLS, app.ledger.by_path()
    writes = [e for e in entries if e.method not in READS and e.path != TOKEN_INFO]
    assert writes == []  # the token-info POST reads; nothing else may be other than a GET
    return {r.check: r for r in rows}, rows


def test_doctor_is_green_on_a_full_portal():
    by_check, rows = doctor()
    assert [r.check for r in rows if not r.holds] == []
    assert exit_code(rows) == 0
    assert "all connector needs" in by_check["token and scopes"].seen
    assert by_check["score property"].seen.startswith("connector_lead_score missing; can be")
    assert "portal allows 100000 per 10 s" in by_check["rate limit"].seen


def test_no_events_api_row_names_the_fallback_and_the_fix():
    by_check, rows = doctor(events_api=False)
    row = by_check["events API (page views, forms)"]
    assert row.status == "fallback" and "403" in row.seen
    assert "first and last page seen" in row.action
    assert "Enterprise" in row.fix
    assert exit_code(rows) == 1


def test_no_email_events_api_row_names_the_fallback_and_the_fix():
    by_check, rows = doctor(email_events_api=False)
    row = by_check["email events API (opens, clicks)"]
    assert row.status == "fallback"
    assert "hs_email_open" in row.action and "scope content" in row.fix
    assert by_check["token and scopes"].holds  # content is optional: a fallback, no failure


def test_missing_scope_row_names_the_scope_what_fails_and_the_fix():
    by_check, rows = doctor(scopes=DEFAULT_SCOPES - {"crm.objects.owners.read"})
    row = by_check["token and scopes"]
    assert row.status == "fail"
    assert "crm.objects.owners.read" in row.seen
    assert "first warm lead that has an owner" in row.action
    assert "add crm.objects.owners.read" in row.fix and "private app" in row.fix
    assert by_check["owners readable"].status == "fail"
    assert exit_code(rows) == 1


def test_missing_unsubscribe_scope_fails_the_unsubscribe_path():
    by_check, _ = doctor(scopes=DEFAULT_SCOPES - {"communication_preferences.read_write"})
    row = by_check["unsubscribe path (subscription types)"]
    assert row.status == "fail" and "communication_preferences" in row.fix


@pytest.mark.parametrize("ssl_flag", ["starttls"])
def test_smtp_without_starttls_row_says_nothing_is_sent_and_the_fix(ssl_flag):
    app = HubSpotSandbox()
    app.add_account(TOKEN, HubSpotAccount("acme", plan="enterprise",
                                          ten_second_limit=100_000))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port,
                               smtp={ssl_flag: True})
        rows = {r.check: r for r in examine(client, env=ENV)}
        assert sink.messages == []
    row = rows["SMTP (EHLO, STARTTLS, AUTH; no mail sent)"]
    assert row.status == "fail" and "offers no STARTTLS" in row.seen
    assert "marked failed" in row.action and "587" in row.fix


def test_a_bad_token_is_one_failing_row_with_its_fix():
    app = HubSpotSandbox()
    app.add_account("pat-na1-someone-else", HubSpotAccount("acme", plan="enterprise"))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port)
        rows = examine(client, env=ENV)
    token = rows[0]
    assert token.check == "token and scopes" and token.status == "fail"
    assert "401" in token.seen and "access token" in token.fix
    assert TOKEN not in " ".join(f"{r.seen} {r.action} {r.fix}" for r in rows)
    assert exit_code(rows) == 1


def test_a_limiter_faster_than_the_portal_allows_fails_with_its_fix():
    app = HubSpotSandbox()
    app.add_account(TOKEN, HubSpotAccount("acme", plan="enterprise", ten_second_limit=100))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port,
                               crm={"rate_limit": {"requests_per_second": 50}})
        rows = {r.check: r for r in examine(client, env=ENV)}
    row = rows["rate limit"]
    assert row.status == "fail" and "portal allows 100 per 10 s" in row.seen
    assert "earns 429s" in row.action and "requests_per_second to 9.5" in row.fix


def test_a_portal_clock_ten_minutes_off_fails_the_skew_row():
    by_check, _ = doctor(date_skew=-600)
    row = by_check["clock skew (CRM Date header)"]
    # the Date header counts whole seconds: 600 s, or 601 when its second was nearly over
    ahead = re.fullmatch(r"ours ahead of the CRM by (\d+) s", row.seen)
    assert row.status == "fail" and ahead and int(ahead[1]) in (600, 601), row.seen
    assert "300 s overlap" in row.action and "NTP" in row.fix


def test_the_skew_is_counted_when_the_answer_came_not_when_the_doctor_looks():
    """The doctor reads the Date header after all its checks: the time they took (seconds
    on a busy machine) is not the CRM's clock being off."""
    layer = HttpLayer("hubspot", "acme", RateLimiter({}, SystemClock()))
    layer.send("default", "GET", "https://api.hubapi.com/crm/v3/owners",
               lambda: RawResponse(200, {"date": formatdate(usegmt=True)}, b"{}"))
    time.sleep(2.5)  # the doctor's other checks
    [_, row] = limits_rows(SimpleNamespace(kind="hubspot", layer=layer))
    off = re.fullmatch(r"ours ahead of the CRM by (\d+) s", row.seen)
    assert off and int(off[1]) <= 1, row.seen  # the header's whole second, not 2.5 s more

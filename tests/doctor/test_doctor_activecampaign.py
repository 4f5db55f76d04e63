"""`connector doctor` against the ActiveCampaign sandbox: green on a full account, and one
row naming what connector does and the fix for each shape a real account may have (150
custom fields, 150 tags, an account-wide activity stream refused, missing or empty, visits
only in the tracking logs). Read-only: at most 30 CRM calls, no write, no mail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.doctor import MAX_CALLS, examine, exit_code
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink

from ..e2e.helpers import client_config

TOKEN = "ac-doctor-secret"
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
STREAM = "activity stream (account-wide)"
VISITS = "activity stream names visits (sample)"


def doctor(**account_options):
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("nordic", Population(30, seed=7, now=NOW),
                                     requests_per_second=100_000, **account_options))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("nordic", "activecampaign", server.url, sink.port)
        rows = examine(client, env={"TEST_TOKEN": TOKEN})
        assert sink.messages == []
    entries = app.ledger.entries
    assert len(entries) <= MAX_CALLS, app.ledger.by_path()
    assert [e for e in entries if e.method != "GET"] == []
    return {r.check: r for r in rows}, rows


def test_doctor_is_green_on_a_full_account():
    by_check, rows = doctor()
    assert [(r.check, r.seen) for r in rows if not r.holds] == []
    assert exit_code(rows) == 0
    assert "every visit named" in by_check[VISITS].seen
    assert "page visit(s)" in by_check[VISITS].seen and " 0 page visit" not in \
        by_check[VISITS].seen


def test_150_custom_fields_are_read_to_the_end():
    by_check, rows = doctor(custom_fields=150)
    row = by_check["custom fields (read to the end)"]
    assert row.holds and "in 2 page(s) of 100" in row.seen
    assert "every mapped field exists" in row.seen  # the fit fields sit past page 1
    assert exit_code(rows) == 0


def test_150_tags_are_read_to_the_end():
    by_check, _ = doctor(tags=150)
    row = by_check["tags (read to the end)"]
    assert row.holds and row.seen.startswith("150 tags in 2 page(s)")


@pytest.mark.parametrize("mode, seen", [("refused", "refused without a contact"),
                                        ("missing", "not found without a contact"),
                                        ("empty", "answers empty though")])
def test_a_stream_refused_missing_or_empty_names_the_fallback_and_the_fix(mode, seen):
    by_check, rows = doctor(stream=mode)
    row = by_check[STREAM]
    assert row.status == "fallback" and seen in row.seen
    assert "contact by contact" in row.action
    assert "enable GET /activities without a contact" in row.fix
    assert exit_code(rows) == 1


def test_visits_only_in_the_tracking_logs_are_found_on_the_sample():
    by_check, rows = doctor(stream="no_visits")
    row = by_check[VISITS]
    assert row.status == "fallback" and "only in the tracking logs" in row.seen
    assert "full resync" in row.action and "resync --full" in row.fix
    assert by_check[STREAM].holds
    assert exit_code(rows) == 1


def _rate_row(account_rate: float, ours: float):
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("nordic", requests_per_second=account_rate))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("nordic", "activecampaign", server.url, sink.port,
                               crm={"rate_limit": {"requests_per_second": ours}})
        rows = {r.check: r for r in examine(client, env={"TEST_TOKEN": TOKEN})}
    return rows["rate limit"]


def test_a_limiter_faster_than_activecampaign_allows_fails_with_its_fix():
    row = _rate_row(5, 50)  # the documented 5 a second, said in RateLimit-Limit too
    assert row.status == "fail" and "earns 429s" in row.action
    assert "RateLimit-Limit: 5 " in row.seen
    assert "remove crm.rate_limit" in row.fix and "set it to 5 or less" in row.fix


def test_the_accounts_rate_limit_header_is_read_against_our_limiter():
    """An account that says it takes 10 a second (RateLimit-Limit, documented on the
    rate-limits page) holds a limiter of 8; one that says 5 fails it."""
    row = _rate_row(10, 8)
    assert row.holds and row.seen.startswith("RateLimit-Limit: 10 "), row.seen
    assert not _rate_row(5, 8).holds

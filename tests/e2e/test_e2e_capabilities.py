"""Capabilities are detected, not declared: the sync asks the portal what it can do on a
client's first sync and on every full resync, uses what it found (a declared crm.plan only
narrows it, and a disagreement is said with its fix), keeps it in state and reports what
changed between runs."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import client_runtime

from .helpers import client_config, settings

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "pat-na1-capabilities-0"
EVENTS = "/events/v3/events"


def sync(tmp_path, *, portal_plan="enterprise", declared=None, full_again=None):
    """Sync a portal twice (the second a full resync after ``full_again`` changed it);
    the reports, the ledger's calls to the events API in each, and the store."""
    clock = FakeClock(START)
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount(
        "acme", Population(20, seed=5, now=START), plan=portal_plan, clock=clock,
        ten_second_limit=100_000, search_per_second=100_000))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    crm = {"rate_limit": {"requests_per_second": 10_000}}
    if declared:
        crm["plan"] = declared
    reports, calls = [], []
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port, crm=crm)
        for step in range(2 if full_again else 1):
            if step:
                full_again(account)
                clock.advance(minutes=15)
            app.ledger.clear()
            with client_runtime(client, settings(url), store, clock=ClockParts(now=clock.now),
                                env={"TEST_TOKEN": TOKEN}) as job:
                reports.append(run_sync(job, full=bool(step)))
            calls.append(app.ledger.count(EVENTS))
    return reports, calls, store


def test_an_enterprise_portal_without_a_declared_plan_gets_every_page_view(tmp_path):
    [report], [events_calls], store = sync(tmp_path)
    assert report.status == "ok" and report.capabilities == []
    assert events_calls > 1  # the probe, then each contact's page views and forms
    assert not any("events API unavailable" in n for n in report.degraded)
    kept = store.get_capabilities("acme")
    assert kept["found"]["events_api"] is True and kept["found"]["email_events_api"] is True


def test_a_plan_declared_lower_than_the_portal_is_said_with_its_fix(tmp_path):
    [report], [events_calls], _ = sync(tmp_path, declared="starter")
    [note, _email] = report.capabilities
    assert "crm.plan starter leaves the events API" in note
    assert "though this portal answers it" in note and "fix: remove crm.plan" in note
    assert events_calls == 1  # the detection's probe; the declared plan narrows the use


def test_a_plan_declared_higher_than_the_portal_uses_what_the_portal_answers(tmp_path):
    [report], [events_calls], _ = sync(tmp_path, portal_plan="starter", declared="enterprise")
    assert report.status == "ok"
    assert any("crm.plan enterprise declares the events API" in n and "refuses it" in n
               for n in report.capabilities)
    assert events_calls == 1  # the probe only: no 403 per contact


def test_a_change_between_full_resyncs_is_reported_and_kept(tmp_path):
    def lose_events_api(account):
        account.events_api = False

    reports, calls, store = sync(tmp_path, full_again=lose_events_api)
    assert reports[0].capabilities == []
    [change] = reports[1].capabilities
    assert "events_api: yes -> no" in change
    assert calls[1] == 1  # the resync's probe found it gone: no contact asked it
    kept = store.get_capabilities("acme")
    assert kept["found"]["events_api"] is False
    assert kept["changes"] == ["events_api: yes -> no"]


def ac_first_sync(tmp_path, stream):
    """An ActiveCampaign client's first sync; the adapter and what was kept."""
    from connector.sandbox.activecampaign import ACAccount, ACSandbox

    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("nordic", Population(25, seed=6, now=START),
                                     requests_per_second=100_000, stream=stream,
                                     custom_fields=150))
    url = f"sqlite:///{tmp_path / 'ac.db'}"
    store = open_store(url)
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("nordic", "activecampaign", server.url, sink.port,
                               crm={"rate_limit": {"requests_per_second": 5}})
        with client_runtime(client, settings(url), store, env={"TEST_TOKEN": TOKEN}) as job:
            report = run_sync(job)
    return report, job.crm, store.get_capabilities("nordic")


def test_activecampaign_first_sync_proves_the_stream_names_visits_and_keeps_it(tmp_path):
    report, crm, kept = ac_first_sync(tmp_path, "full")
    assert report.status == "ok"
    found = kept["found"]
    assert found["activity_stream"] == "ok" and found["stream_names_visits"] is True
    assert found["fields"] >= 154  # every page of GET /fields
    assert crm.stream_names_visits is True


def test_activecampaign_visits_only_in_tracking_logs_are_kept_as_not_named(tmp_path):
    _, crm, kept = ac_first_sync(tmp_path, "no_visits")
    assert kept["found"]["stream_names_visits"] is False
    assert crm.stream_names_visits is False


def test_an_empty_account_stream_is_never_proven_to_name_visits(tmp_path):
    """Each contact's own activities name its visits, but the account-wide stream answers
    empty: the stream is not proven (the adapter must not trust its silence)."""
    _, crm, kept = ac_first_sync(tmp_path, "empty")
    assert kept["found"]["activity_stream"] == "empty"
    assert kept["found"]["stream_names_visits"] is None
    assert crm.stream_names_visits is None

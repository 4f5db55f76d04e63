"""ActiveCampaign-specific behaviour, over HTTP against the ActiveCampaign sandbox."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import requests
from werkzeug.wrappers import Response

from connector.config import ClientConfig, Settings
from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.base import ScoreProperty
from connector.errors import AuthError
from connector.models import Contact, Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import ClockParts, FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

TOKEN = "ac-secret-token-77"
START = datetime(2026, 11, 2, 15, tzinfo=UTC)
SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / \
    "activecampaign-v3.openapi.json"
RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "default.yaml"


@pytest.fixture
def account_and_crm():
    clock = FakeClock(START)
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("nordic", None, clock=clock,
                                               requests_per_second=100_000))
    with Server(app) as server:
        crm = ActiveCampaignCRM("nordic", TOKEN, server.url, clock=clock,
                                requests_per_second=100_000)
        yield app, account, crm, clock, server


def _seed(account: ACAccount, n: int, when: datetime) -> None:
    for i in range(1, n + 1):
        account.add_contact(Contact(id=str(i), email=f"p{i}@x.dk", fields={},
                                    created_at=when, updated_at=when))


def test_12000_contacts_are_pulled_without_deep_offsets(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 12_000, START - timedelta(days=3))
    ids = [c.id for c in crm.iter_contacts(None, START)]
    assert len(ids) == 12_000 and len(set(ids)) == 12_000
    assert app.ledger.count("/api/3/contacts", status=400) == 0


def test_date_granular_incremental_pull_misses_nothing_and_repeats_nothing(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 50, START - timedelta(days=10))
    bookmark = START
    for cid, delta in (("3", 0), ("4", 1), ("5", 3600), ("6", -400)):
        account.contacts[int(cid)]["udate"] = bookmark + timedelta(seconds=delta)
    got = [c.id for c in crm.iter_contacts(bookmark, bookmark + timedelta(hours=2))]
    assert sorted(got, key=int) == ["3", "4", "5"]  # same second, same day, later; not older
    assert len(got) == len(set(got))


def test_score_field_is_text_related_to_all_lists_and_written_in_bulk(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 600, START - timedelta(days=1))
    list(crm.iter_contacts(None, START))
    crm.ensure_score_property(ScoreProperty())
    crm.ensure_score_property(ScoreProperty())
    [field] = [f for f in account.fields.values() if f["perstag"] == "CONNECTOR_LEAD_SCORE"]
    assert field["type"] == "text"
    assert [(r["field"], r["relid"]) for r in account.field_rels] == [(int(field["id"]), 0)]
    report = crm.write_scores({str(i): i % 100 - 30 for i in range(1, 601)})
    assert len(report.written) == 600 and report.calls == 3  # ceil(600 / 250)
    assert account.value_of("7", "CONNECTOR_LEAD_SCORE") == "-23"


def test_the_imports_of_one_write_are_awaited_together(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 750, START - timedelta(days=1))
    crm.ensure_score_property(ScoreProperty())
    before = clock.now()
    report = crm.write_scores({str(i): 40 for i in range(1, 751)})
    assert len(report.written) == 750 and report.calls == 3
    # each import is still pending at its first poll: one shared wait, not one per import
    assert clock.now() - before < timedelta(seconds=0.5)
    assert app.ledger.count("/api/3/import/info") == 6


def test_a_few_writes_use_contact_sync(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 5, START - timedelta(days=1))
    crm.ensure_score_property(ScoreProperty())
    report = crm.write_scores({"1": 31, "2": 12})
    assert sorted(report.written) == ["1", "2"]
    assert app.ledger.count("/api/3/contact/sync") == 2


def test_bad_token_is_403_with_the_fix_and_no_token(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    bad = ActiveCampaignCRM("nordic", "wrong-token-123", server.url, clock=clock)
    with pytest.raises(AuthError) as info:
        list(bad.iter_contacts(None, START))
    assert "check the token for client 'nordic'" in str(info.value)
    assert "wrong-token-123" not in str(info.value)


def test_number_fields_are_refused_with_a_clear_422():
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("x", None, requests_per_second=1000))
    with Server(app) as server:
        r = requests.post(f"{server.url}/api/3/fields", headers={"Api-Token": TOKEN},
                          json={"field": {"title": "Score", "type": "number"}})
    assert r.status_code == 422 and r.json()["errors"][0]["title"] == "Field type is not valid"


def test_at_5_per_second_the_adapter_never_gets_a_429():
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("rt", None, requests_per_second=5))
    _seed(account, 25 * 100, START)
    with Server(app) as server:
        crm = ActiveCampaignCRM("rt", TOKEN, server.url)
        began = time.monotonic()
        assert len(list(crm.iter_contacts(None, START))) == 2500
        elapsed = time.monotonic() - began
    calls = app.ledger.count()
    assert app.ledger.count(status=429) == 0
    assert calls >= 27 and elapsed >= (calls - 5) / 5  # it really is rate limited


def _schema(path: str, method: str, status: str):
    spec = json.loads(SPEC.read_text())
    response = spec["paths"][path][method]["responses"].get(status) or {}
    schema = (response.get("content", {}).get("application/json", {}) or {}).get("schema")
    # the spec's overlapping oneOfs are alternatives of one shape: accept any of them
    return json.loads(json.dumps(schema).replace('"oneOf"', '"anyOf"')) if schema else None


def test_time_spent_scoring_is_caught_up_and_no_second_of_the_crms_holds_more_than_5():
    """97 % of AC's 5/s, a request counted from its send until a second after its answer
    (no round trip measured: ``release`` without the send time): wherever between the two
    the CRM counts it, no one-second window holds more than 5."""
    clock = FakeClock(START)
    crm = ActiveCampaignCRM("x", TOKEN, "http://127.0.0.1:9", requests_per_second=5,
                            clock=ClockParts(monotonic=clock.monotonic, sleep=clock.sleep))
    limiter = crm.layer.limiter
    spans = []

    def call(latency: float) -> None:
        limiter.acquire("default")
        sent = clock.monotonic()
        clock.advance(latency)
        limiter.release("default")
        spans.append((sent, clock.monotonic()))

    for _ in range(6):
        call(0.0)
    starts = [s for s, _ in spans]
    assert starts[4] == starts[0]  # after a pause five go at once
    assert starts[5] - starts[0] == pytest.approx(1 / 0.97)  # 4.85 a second, not 5
    for i in range(200):  # answers in 0 to 0.3 s, pauses of 0 to 0.4 s (scoring, storing)
        clock.advance((i * 37 % 9) / 20)
        call((i * 13 % 7) / 20)
    for arrival in (0, 1):  # the CRM counts each request when sent, or when answered
        at = sorted(span[arrival] for span in spans)
        assert max(sum(1 for t in at if s <= t < s + 1.0) for s in at) <= 5
    wall = spans[-1][1] - spans[6][0]
    assert wall < 200 * (0.2 + 0.15 + 1 / 4.85)  # paced, not serialised


class _Uneven:
    """Requests reach the server 0 to 200 ms after they were sent, unevenly."""

    def __init__(self, app) -> None:
        self.app, self.n, self.lock = app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.n += 1
            n = self.n
        time.sleep((n * 7 % 5) * 0.05)
        return self.app(environ, start_response)


def test_four_requests_in_flight_at_ac_s_real_limit_earn_no_429():
    """The sandbox at 5/s on its own clock, 4 engagement requests in flight on uneven
    connections (the old limiter, 5 a second counted at send, got 429s here)."""
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("rt", None, requests_per_second=5))
    _seed(account, 16, START)
    with Server(_Uneven(app)) as server:
        crm = ActiveCampaignCRM("rt", TOKEN, server.url, engagement_workers=4)
        contacts = list(crm.iter_contacts(None, START))
        crm.fetch_events(contacts, None)
    assert app.ledger.count("/api/3/contacts/", method="GET") >= 16
    assert app.ledger.count(status=429) == 0


def test_a_12_score_write_is_one_bulk_import(account_and_crm):
    """AC: "The suggested minimum number of contacts is 10. If less than that, then
    contact/sync api request should be used" (bulk import; 12 went out one call each)."""
    app, account, crm, clock, server = account_and_crm
    _seed(account, 12, START - timedelta(days=1))
    list(crm.iter_contacts(None, START))
    crm.ensure_score_property(ScoreProperty())
    report = crm.write_scores({str(i): 30 + i for i in range(1, 13)})
    assert len(report.written) == 12 and report.calls == 1
    assert app.ledger.count("/api/3/import/bulk_import") == 1
    assert app.ledger.count("/api/3/contact/sync") == 0
    assert account.value_of("12", "CONNECTOR_LEAD_SCORE") == "42"


def test_a_contact_with_130_visits_keeps_all_130(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 2, START - timedelta(days=1))
    for i in range(130):
        account.add_event(Event(f"v{i}", "2", EventType.PAGE_VIEW, START,
                                url=f"https://a/blog/{i}"))
    contacts = [c for c in crm.iter_contacts(None, START + timedelta(days=1)) if c.id == "2"]
    [events] = crm.fetch_events(contacts, None).values()
    assert len([e for e in events if e.type == EventType.PAGE_VIEW]) == 130
    assert app.ledger.count("/api/3/contacts/2/trackingLogs") == 2


def test_unknown_activity_types_are_counted_in_the_sync_report(account_and_crm, tmp_path):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 2, START - timedelta(days=1))
    account.add_event(Event("o1", "1", EventType.EMAIL_OPEN, START, email_id="12"))
    template = dict(account.activities[0])
    for i in range(2):
        account.activities.append({**template, "id": f"{50 + i}", "_key": f"w{i}",
                                   "reference_type": "WhatsAppReply",
                                   "referenceModelName": "whatsapp-reply"})
    account._activities_sorted = None
    client = ClientConfig.model_validate({
        "name": "nordic", "crm": {"kind": "activecampaign", "base_url": server.url,
                                  "token_env": "T"},
        "rules": str(RULES), "owner_fallback": {"name": "A B", "email": "a@b.co"},
        "invite": {"enabled": False}, "notify": {"enabled": False},
        "unsubscribe": {"enabled": False}})
    store = open_store(f"sqlite:///{tmp_path}/state.db")
    job = make_job(client, Settings(state_url=f"sqlite:///{tmp_path}/state.db"), store,
                   crm=crm, clock=FakeClock(START + timedelta(hours=1)), env={"T": TOKEN})
    report = run_sync(job)
    store.close()
    assert "2 activities of unknown type 'WhatsAppReply' ignored (not scored)" in \
        report.degraded
    assert report.counts["scored"] == 2


def test_an_account_that_wants_a_contact_on_activities_is_asked_per_contact(account_and_crm):
    """The reference: "A contact ID is required to access this endpoint"."""
    app, account, crm, clock, server = account_and_crm
    _seed(account, 25, START - timedelta(days=1))
    account.add_event(Event("c1", "7", EventType.EMAIL_CLICK, START, url="https://a/x",
                            email_id="12"))
    original = app.activities

    def activities(request, acct):
        if not request.args.get("contact"):
            return Response('{"errors": [{"title": "contact is required"}]}', status=422,
                            mimetype="application/json")
        return original(request, acct)

    app.activities = activities
    contacts = list(crm.iter_contacts(None, START + timedelta(days=1)))
    events = crm.fetch_events(contacts, None)
    assert [e.type for e in events["7"]] == [EventType.EMAIL_CLICK]
    assert app.ledger.count("/api/3/activities", status=422) == 1


@pytest.mark.skipif(not SPEC.exists(), reason="the shared OpenAPI spec is not beside the repo")
def test_sandbox_responses_validate_against_the_shipped_spec():
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("spec", Population(12, seed=3),
                                               requests_per_second=1000, import_polls=0))
    h = {"Api-Token": TOKEN}
    with Server(app) as server:
        u = f"{server.url}/api/3"
        calls = {
            ("/contacts", "get", "200"): requests.get(f"{u}/contacts", headers=h,
                                                      params={"orders[id]": "ASC"}),
            ("/contacts/{id}/trackingLogs", "get", "200"): requests.get(
                f"{u}/contacts/3/trackingLogs", headers=h),
            ("/contacts/{id}/trackingLogs", "get", "404"): requests.get(
                f"{u}/contacts/999/trackingLogs", headers=h),
            ("/fields", "post", "422"): requests.post(f"{u}/fields", headers=h, json={
                "field": {"title": "S", "type": "number"}}),
            ("/fields", "post", "403"): requests.post(f"{u}/fields", json={}),
            ("/import/bulk_import", "post", "200"): requests.post(
                f"{u}/import/bulk_import", headers=h, json={"contacts": [
                    {"email": account.contacts[1]["email"], "fields": []}]}),
        }
        batch = calls[("/import/bulk_import", "post", "200")].json()["batchId"]
        calls[("/import/info", "get", "200")] = requests.get(
            f"{u}/import/info", headers=h, params={"batchId": batch})
        calls[("/import/info", "get", "400")] = requests.get(f"{u}/import/info", headers=h)
    checked = 0
    for (path, method, status), response in calls.items():
        assert str(response.status_code) == status, (path, response.text)
        schema = _schema(path, method, status)
        if schema:
            jsonschema.validate(response.json(), schema)
            checked += 1
    assert checked >= 6


def test_page_visits_and_activities_map_to_common_events(account_and_crm):
    app, account, crm, clock, server = account_and_crm
    _seed(account, 3, START - timedelta(days=1))
    account.add_event(Event("x1", "2", EventType.PAGE_VIEW, START, url="https://a/pricing"))
    account.add_event(Event("x2", "2", EventType.EMAIL_CLICK, START, url="https://a/x",
                            email_id="nl-4"))
    account.add_event(Event("x3", "2", EventType.DOWNLOAD, START, name="ebook-seo"))
    contacts = [c for c in crm.iter_contacts(None, START + timedelta(days=1)) if c.id == "2"]
    [events] = crm.fetch_events(contacts, None).values()
    assert {(e.type, e.url, e.email_id, e.name) for e in events} == {
        ("page_view", "https://a/pricing", None, None),
        ("email_click", "https://a/x", "nl-4", None),
        ("download", None, None, "ebook-seo")}

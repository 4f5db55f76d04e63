"""ActiveCampaign-specific behaviour, over HTTP against the ActiveCampaign sandbox."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import requests

from connector.clock import FakeClock
from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.base import ScoreProperty
from connector.errors import AuthError
from connector.models import Contact, Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "ac-secret-token-77"
START = datetime(2026, 11, 2, 15, tzinfo=UTC)
SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / \
    "activecampaign-v3.openapi.json"


@pytest.fixture
def account_and_crm():
    clock = FakeClock(START)
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("nordic", None, clock=clock.now,
                                               requests_per_second=100_000))
    with Server(app) as server:
        crm = ActiveCampaignCRM("nordic", TOKEN, server.url, clock=clock.now,
                                sleep=clock.sleep, monotonic=clock.monotonic,
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
    assert account.field_rels == [{"field": field["id"], "relid": "0", "id": "1"}]
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
    bad = ActiveCampaignCRM("nordic", "wrong-token-123", server.url, clock=clock.now,
                            sleep=clock.sleep, monotonic=clock.monotonic)
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


def test_time_spent_scoring_is_caught_up_but_no_second_holds_more_than_5_calls():
    clock = FakeClock(START)
    crm = ActiveCampaignCRM("x", TOKEN, "http://127.0.0.1:9", sleep=clock.sleep,
                            monotonic=clock.monotonic, requests_per_second=5)
    limiter = crm.layer.limiter
    assert [limiter.acquire("default") for _ in range(5)] == [0.0] * 5  # after a pause
    assert limiter.acquire("default") == pytest.approx(1.0)
    sent = []
    for i in range(200):  # calls with pauses of 0 to 0.4 s between them (scoring, storing)
        clock.advance((i * 37 % 9) / 20)
        limiter.acquire("default")
        sent.append(clock.monotonic())
    assert max(sum(1 for t in sent if s <= t < s + 1.0) for s in sent) == 5


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

"""The sandboxes answer as the vendors document (issue 21, "Real accounts" item 4): JSON
error bodies for malformed input, the documented filters, id shapes and endpoints. Each
case names the document it follows; the schemathesis run of tests/fidelity/ checks the
same routes against the vendors' OpenAPI documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connector.models import Contact, Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server

HS_TOKEN = "pat-fidelity"
AC_TOKEN = "ac-fidelity"
NOW = datetime(2026, 11, 2, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def hubspot() -> Iterator[tuple[str, requests.Session, HubSpotAccount]]:
    app = HubSpotSandbox()
    account = app.add_account(HS_TOKEN, HubSpotAccount(
        "fidelity", plan="enterprise", clock=FakeClock(NOW), ten_second_limit=10_000,
        search_per_second=10_000))
    for n, email in ((1, "ana@a.example"), (2, "bo@b.example")):
        account.add_contact(Contact(id=str(n), email=email, fields={}), [
            Event(f"v{n}-1", str(n), EventType.PAGE_VIEW, NOW - timedelta(days=3),
                  url="https://www.example-agency.com/"),
            Event(f"v{n}-2", str(n), EventType.PAGE_VIEW, NOW - timedelta(days=1),
                  url="https://www.example-agency.com/pricing"),
            Event(f"o{n}", str(n), EventType.EMAIL_OPEN, NOW - timedelta(days=2),
                  email_id="nl-1")])
    with Server(app) as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {HS_TOKEN}"
        yield server.url, session, account


@pytest.fixture(scope="module")
def ac() -> Iterator[tuple[str, requests.Session, ACAccount]]:
    app = ACSandbox()
    account = app.add_account(AC_TOKEN, ACAccount("fidelity", clock=FakeClock(NOW),
                                                  requests_per_second=10_000))
    people = ((1, "ana@a.example", "Ana", "Lund", "Lund Media", None, False),
              (2, "bo@b.example", "Bo", "Holm", "Holm ApS", "101", True),
              (3, "cy@c.example", "Cy", "Dahl", "Dahl Group", None, True))
    for n, email, first, last, org, owner, customer in people:
        account.add_contact(Contact(
            id=str(n), email=email, owner_id=owner, is_customer=customer, customer_at=NOW,
            fields={"first_name": first, "last_name": last, "company": org}),
            [Event(f"v{n}", str(n), EventType.PAGE_VIEW, NOW, url="https://x.example/")])
    with Server(app) as server:
        session = requests.Session()
        session.headers["Api-Token"] = AC_TOKEN
        yield f"{server.url}/api/3", session, account


# -- HubSpot -------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,kwargs", [
    ("GET", "/crm/v3/objects/contacts", {"params": {"limit": "ten"}}),
    ("GET", "/crm/v3/objects/contacts", {"params": {"limit": "0"}}),
    ("POST", "/crm/v3/objects/contacts/search", {"json": ["not", "an", "object"]}),
    ("POST", "/crm/v3/objects/contacts/search", {"json": {"limit": {}}}),
    ("POST", "/crm/v3/objects/contacts/batch/update", {"json": {"inputs": [
        {"id": "1", "properties": [None]}]}}),
    ("GET", "/events/v3/events", {"params": {"objectType": "contact", "objectId": "1",
                                             "occurredAfter": "yesterday"}}),
    ("POST", "/crm/v3/properties/contacts", {"json": {
        "name": "x", "label": 1.5, "type": "string", "fieldType": "text",
        "groupName": "contactinformation"}}),
])
def test_hubspot_answers_malformed_input_with_its_json_400(hubspot, method, path, kwargs):
    # the "Error" schema of HubSpot's CRM v3 documents (status, message, correlationId,
    # category), not werkzeug's HTML 500 page, which the adapter would retry as a 5xx
    url, session, _ = hubspot
    answer = session.request(method, url + path, **kwargs)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["message"] and body["correlationId"]


def test_hubspot_events_keep_to_occurred_after_and_before(hubspot):
    # GET /events/v3/events occurredAfter / occurredBefore (events.json, v3)
    url, session, _ = hubspot
    params = {"objectType": "contact", "objectId": "1", "eventType": "e_visited_page"}
    every = session.get(f"{url}/events/v3/events", params=params).json()["results"]
    assert len(every) == 2
    after = session.get(f"{url}/events/v3/events", params={
        **params, "occurredAfter": (NOW - timedelta(days=2)).isoformat()}).json()["results"]
    assert [e["properties"]["hs_url"] for e in after] == ["https://www.example-agency.com/pricing"]
    before = session.get(f"{url}/events/v3/events", params={
        **params, "occurredBefore": (NOW - timedelta(days=2)).isoformat()}).json()["results"]
    assert [e["properties"]["hs_url"] for e in before] == ["https://www.example-agency.com/"]


def test_hubspot_lists_the_contact_properties(hubspot):
    # GET /crm/v3/properties/contacts (properties.json: CollectionResponsePropertyNoPaging)
    url, session, _ = hubspot
    session.post(f"{url}/crm/v3/properties/contacts", json={
        "name": "fidelity_score", "label": "Score", "type": "number", "fieldType": "number",
        "groupName": "contactinformation"})
    answer = session.get(f"{url}/crm/v3/properties/contacts")
    assert answer.status_code == 200, answer.text
    by_name = {p["name"]: p for p in answer.json()["results"]}
    assert by_name["email"]["type"] == "string"
    assert by_name["hs_email_open"]["type"] == "number"
    assert by_name["hs_analytics_last_timestamp"]["type"] == "datetime"
    assert by_name["fidelity_score"]["label"] == "Score"


def test_hubspot_answers_other_objects_with_missing_scopes(hubspot):
    # the portal's app has no companies/deals scopes: HubSpot's 403 MISSING_SCOPES
    url, session, _ = hubspot
    for path in ("/companies/v2/properties", "/properties/v1/deals/properties",
                 "/crm/v3/schemas"):
        answer = session.get(url + path)
        assert answer.status_code == 403, path
        assert answer.json()["category"] == "MISSING_SCOPES"
    assert session.get(f"{url}/no/such/api").status_code == 404


def test_hubspot_email_events_without_recipient_list_the_window(hubspot):
    # every parameter of GET /email/public/v1/events is optional; startTimestamp and
    # endTimestamp bound the window
    url, session, _ = hubspot
    every = session.get(f"{url}/email/public/v1/events").json()["events"]
    assert sorted(e["recipient"] for e in every) == ["ana@a.example", "bo@b.example"]
    stamp = int((NOW - timedelta(days=2)).timestamp() * 1000)
    assert session.get(f"{url}/email/public/v1/events", params={
        "startTimestamp": 0, "endTimestamp": stamp - 1}).json()["events"] == []


def test_hubspot_unsubscribe_leaves_out_what_was_not_given(hubspot):
    # PublicSubscriptionStatus: legalBasis is an optional string, never null
    url, session, _ = hubspot
    answer = session.post(f"{url}/communication-preferences/v3/unsubscribe", json={
        "emailAddress": "bo@b.example", "subscriptionId": "7001"}).json()
    assert answer["status"] == "NOT_SUBSCRIBED"
    assert "legalBasis" not in answer and "legalBasisExplanation" not in answer


# -- ActiveCampaign ------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,kwargs", [
    ("GET", "/contacts", {"params": {"limit": "many"}}),
    ("GET", "/contacts", {"params": {"offset": "-1"}}),
    ("GET", "/activities", {"params": {"after": "not a date"}}),
    ("GET", "/deals", {"params": {"limit": "x"}}),
    ("POST", "/contact/sync", {"json": ["a list"]}),
    ("POST", "/contactTags", {"json": {"contactTag": "not an object"}}),
    ("POST", "/tags", {"json": {"tag": {"tag": {}}}}),
])
def test_ac_answers_malformed_input_with_its_json_400(ac, method, path, kwargs):
    # AC's 400 in its errors shape (the spec's 400 example of GET /customObjects/records/
    # {schemaId}), not an HTML 500 that the adapter would retry
    url, session, _ = ac
    answer = session.request(method, url + path, **kwargs)
    assert answer.status_code == 400, answer.text
    [error] = answer.json()["errors"]
    assert error["status"] == 400 and error["title"] == "Bad Request"


def test_ac_tracking_log_ids_are_numbers_the_activity_stream_names(ac):
    # the spec's GET /contacts/{contactId}/trackingLogs example: "id": "12"
    url, session, _ = ac
    logs = session.get(f"{url}/contacts/2/trackingLogs").json()["trackingLogs"]
    assert [log["id"].isdigit() for log in logs] == [True]
    assert logs[0]["links"]["contact"] == f"/api/3/trackingLogs/{logs[0]['id']}/contact"
    rows = session.get(f"{url}/activities", params={"contact": "2"}).json()["activities"]
    assert [r["reference_id"] for r in rows if r["reference_type"] == "TrackingLog"] == \
        [logs[0]["id"]]


def test_ac_api_url_answers_a_valid_token(ac):
    url, session, _ = ac
    assert session.get(f"{url}/").status_code == 200
    assert requests.get(f"{url}/", headers={"Api-Token": "wrong"}).status_code == 403


def test_ac_contacts_filter_by_ids_email_and_search(ac):
    url, session, _ = ac

    def emails(params: object) -> list[str]:
        answer = session.get(f"{url}/contacts", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(c["email"] for c in answer.json()["contacts"])

    assert emails([("ids[]", "1"), ("ids[]", "3")]) == ["ana@a.example", "cy@c.example"]
    assert emails({"ids": "2,3"}) == ["bo@b.example", "cy@c.example"]
    assert emails({"email": "BO@b.example"}) == ["bo@b.example"]
    assert emails({"search": "dahl"}) == ["cy@c.example"]
    assert emails({"search": "Lund Media"}) == ["ana@a.example"]
    assert emails({"email_like": "@b."}) == ["bo@b.example"]


def test_ac_field_rel_and_contact_list_answers_have_the_specs_shapes(ac):
    url, session, _ = ac
    field = session.get(f"{url}/fields").json()["fields"][0]
    rel = session.post(f"{url}/fieldRels", json={"fieldRel": {
        "field": field["id"], "relid": 0}})
    assert rel.status_code == 201
    body = rel.json()["fieldRel"]
    assert (body["field"], body["relid"], body["links"]) == (int(field["id"]), 0, [])
    assert isinstance(body["id"], str) and body["cdate"]
    listed = session.post(f"{url}/contactLists", json={"contactList": {
        "list": "1", "contact": "2", "status": 2}})
    assert listed.status_code == 200
    answer = listed.json()
    assert answer["contactList"]["status"] == 2 and answer["contactList"]["list"] == "1"
    assert [c["id"] for c in answer["contacts"]] == ["2"]


def test_ac_every_deal_has_an_owner(ac):
    # GET /deals: ``owner`` a string (POST /deals requires it): an ownerless customer's
    # deal is the account admin's, user 1, whom GET /users/1 knows
    url, session, _ = ac
    deals = session.get(f"{url}/deals").json()["deals"]
    assert {d["contact"]: d["owner"] for d in deals} == {"2": "101", "3": "1"}
    assert session.get(f"{url}/users/1").json()["user"]["id"] == "1"

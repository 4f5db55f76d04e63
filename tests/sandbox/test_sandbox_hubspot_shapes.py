"""Every sandbox route answers in HubSpot's shapes: the SDK's own models deserialise them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from hubspot.communication_preferences import ApiClient as PrefsClient
from hubspot.crm.contacts import ApiClient as ContactsClient
from hubspot.crm.objects.tasks import ApiClient as TasksClient
from hubspot.crm.owners import ApiClient as OwnersClient
from hubspot.crm.properties import ApiClient as PropertiesClient
from hubspot.events import ApiClient as EventsClient

from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "pat-shapes"


class _Raw:
    def __init__(self, response: requests.Response) -> None:
        self.data = response.content
        self.status = response.status_code

    def getheader(self, name, default=None):
        return default


@pytest.fixture(scope="module")
def sandbox():
    app = HubSpotSandbox()
    app.add_account(TOKEN, HubSpotAccount("shapes", Population(20, seed=4), plan="enterprise",
                                          ten_second_limit=10_000, search_per_second=10_000))
    with Server(app) as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        yield server.url, session


def _load(client_cls, response: requests.Response, model: str):
    assert response.headers["Content-Type"].startswith("application/json")
    return client_cls().deserialize(_Raw(response), model)


def test_contacts_page(sandbox):
    url, s = sandbox
    r = s.get(f"{url}/crm/v3/objects/contacts", params={"limit": 5, "properties": "email"})
    page = _load(ContactsClient, r,
                 "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
    assert len(page.results) == 5 and page.paging.next.after


def test_search(sandbox):
    url, s = sandbox
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                           "operator": "GTE", "value": "0"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 5, "properties": ["email"]}
    r = s.post(f"{url}/crm/v3/objects/contacts/search", json=body)
    page = _load(ContactsClient, r, "CollectionResponseWithTotalSimplePublicObjectForwardPaging")
    assert page.total == 20


def test_search_past_the_cap_is_a_400_standard_error(sandbox):
    url, s = sandbox
    r = s.post(f"{url}/crm/v3/objects/contacts/search", json={"limit": 200, "after": "9900"})
    assert r.status_code == 400
    assert json.loads(r.content)["category"] == "VALIDATION_ERROR"


def test_properties_groups_and_batch_update_207(sandbox):
    url, s = sandbox
    g = s.post(f"{url}/crm/v3/properties/contacts/groups", json={"name": "conn", "label": "C"})
    _load(PropertiesClient, g, "PropertyGroup")
    p = s.post(f"{url}/crm/v3/properties/contacts", json={
        "name": "score_x", "label": "Score", "type": "number", "fieldType": "number",
        "groupName": "conn"})
    assert p.status_code == 201 and p.headers["Location"].endswith("/score_x")
    _load(PropertiesClient, p, "ModelProperty")
    _load(PropertiesClient, s.get(f"{url}/crm/v3/properties/contacts/score_x"), "ModelProperty")
    again = s.post(f"{url}/crm/v3/properties/contacts", json={
        "name": "score_x", "label": "Score", "type": "number", "fieldType": "number",
        "groupName": "conn"})
    assert again.status_code == 409
    ok = s.post(f"{url}/crm/v3/objects/contacts/batch/update", json={"inputs": [
        {"id": "1", "properties": {"score_x": "12"}}]})
    _load(ContactsClient, ok, "BatchResponseSimplePublicObject")
    partial = s.post(f"{url}/crm/v3/objects/contacts/batch/update", json={"inputs": [
        {"id": "1", "properties": {"score_x": "13"}}, {"id": "424242", "properties": {
            "score_x": "1"}}]})
    assert partial.status_code == 207
    result = _load(ContactsClient, partial, "BatchResponseSimplePublicObjectWithErrors")
    assert result.num_errors == 1 and result.errors[0].context["ids"] == ["424242"]
    bad = s.post(f"{url}/crm/v3/objects/contacts/batch/update", json={"inputs": [
        {"id": "1", "properties": {"score_x": "twelve"}}]})
    assert bad.status_code == 400
    _load(ContactsClient, bad, "Error")


def test_owners_tasks_events_and_preferences(sandbox):
    url, s = sandbox
    owners = _load(OwnersClient, s.get(f"{url}/crm/v3/owners/"),
                   "CollectionResponsePublicOwnerForwardPaging")
    assert owners.results[0].email
    task = s.post(f"{url}/crm/v3/objects/tasks", json={
        "properties": {"hs_timestamp": datetime.now(UTC).isoformat(), "hs_task_subject": "x"},
        "associations": [{"to": {"id": "1"}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]})
    assert task.status_code == 201
    _load(TasksClient, task, "SimplePublicObject")
    events = s.get(f"{url}/events/v3/events", params={"objectType": "contact",
                                                       "objectId": "1"})
    _load(EventsClient, events, "CollectionResponseExternalUnifiedEvent")
    defs = _load(PrefsClient, s.get(f"{url}/communication-preferences/v3/definitions"),
                 "SubscriptionDefinitionsResponse")
    sub = defs.subscription_definitions[0].id
    email = s.get(f"{url}/crm/v3/objects/contacts", params={"limit": 1}).json()[
        "results"][0]["properties"]["email"]
    status = s.post(f"{url}/communication-preferences/v3/unsubscribe", json={
        "emailAddress": email, "subscriptionId": sub})
    _load(PrefsClient, status, "PublicSubscriptionStatus")


def test_email_events_legacy_shape(sandbox):
    url, s = sandbox
    email = s.get(f"{url}/crm/v3/objects/contacts", params={"limit": 3}).json()[
        "results"][2]["properties"]["email"]
    body = s.get(f"{url}/email/public/v1/events", params={"recipient": email}).json()
    assert set(body) == {"events", "hasMore", "offset"}
    for event in body["events"]:
        assert {"id", "type", "recipient", "created", "emailCampaignId"} <= set(event)


def test_401_body_is_hubspots(sandbox):
    url, _ = sandbox
    r = requests.get(f"{url}/crm/v3/objects/contacts", headers={"Authorization": "Bearer no"})
    assert r.status_code == 401
    body = _load(ContactsClient, r, "Error")
    assert body.category == "INVALID_AUTHENTICATION"


def test_rate_limit_answers_like_hubspot():
    app = HubSpotSandbox()
    app.add_account("t", HubSpotAccount("rl", Population(3), ten_second_limit=3))
    with Server(app) as server:
        statuses = [requests.get(f"{server.url}/crm/v3/objects/contacts",
                                 headers={"Authorization": "Bearer t"}) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    limited = statuses[-1]
    assert "Retry-After" not in limited.headers
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"


def test_engagement_properties_move_as_hubspot_documents_them():
    """Emails are counted once each (a repeat open moves only the last-open date); a
    session ends after 30 quiet minutes; first/last page and conversion with their times."""
    from datetime import timedelta

    from connector.models import Event, EventType
    from connector.sandbox.hubspot import engagement_properties

    t = datetime(2026, 10, 1, 9, tzinfo=UTC)
    site = "https://www.example-agency.com"
    events = [
        Event("o1", "1", EventType.EMAIL_OPEN, t, email_id="nl-1"),
        Event("o2", "1", EventType.EMAIL_OPEN, t + timedelta(days=2), email_id="nl-1"),
        Event("o3", "1", EventType.EMAIL_OPEN, t + timedelta(days=1), email_id="nl-2"),
        Event("c1", "1", EventType.EMAIL_CLICK, t + timedelta(hours=1), email_id="nl-1"),
        Event("v1", "1", EventType.PAGE_VIEW, t, url=f"{site}/"),
        Event("v2", "1", EventType.PAGE_VIEW, t + timedelta(minutes=20), url=f"{site}/blog/a"),
        Event("v3", "1", EventType.PAGE_VIEW, t + timedelta(minutes=51), url=f"{site}/contact"),
        Event("f1", "1", EventType.DOWNLOAD, t + timedelta(hours=2), name="guide-seo"),
        Event("f2", "1", EventType.FORM_SUBMISSION, t + timedelta(hours=3), name="contact-form"),
    ]
    props = engagement_properties(reversed(events))  # the order they arrive in is no matter
    assert props["hs_email_open"] == "2"  # two emails, three opens
    assert props["hs_email_first_open_date"] == "2026-10-01T09:00:00.000Z"
    assert props["hs_email_last_open_date"] == "2026-10-03T09:00:00.000Z"
    assert (props["hs_email_click"], props["hs_email_last_click_date"]) == (
        "1", "2026-10-01T10:00:00.000Z")
    assert props["hs_analytics_num_page_views"] == "3"
    assert props["hs_analytics_num_visits"] == "2"  # 31 quiet minutes before the contact page
    assert props["hs_analytics_last_visit_timestamp"] == "2026-10-01T09:51:00.000Z"
    assert (props["hs_analytics_first_url"], props["hs_analytics_last_url"]) == (
        f"{site}/", f"{site}/contact")
    assert props["hs_analytics_last_timestamp"] == "2026-10-01T09:51:00.000Z"
    assert (props["num_conversion_events"], props["first_conversion_event_name"],
            props["recent_conversion_event_name"]) == ("2", "guide-seo", "contact-form")
    assert props["recent_conversion_date"] == "2026-10-01T12:00:00.000Z"
    assert engagement_properties([])["hs_email_open"] is None  # unset, not "0"

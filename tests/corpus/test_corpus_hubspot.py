"""HubSpot's responses as documented (tests/corpus/hubspot/*.json, each naming its source),
independent of our sandbox: the SDK's models read them, the adapter parses every one of
them, and the sandbox answers the same requests in the same shapes."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connector.crm.base import ScoreProperty
from connector.crm.hubspot import HubSpotCRM
from connector.crm.hubspot.property_engagement import ENGAGEMENT_PROPERTIES, SIGNATURE_PROPERTIES
from connector.models import Contact, Event, EventType
from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

HERE = Path(__file__).parent / "hubspot"
FILES = sorted(HERE.glob("*.json"))
TOKEN = "pat-corpus"
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
# maps whose keys are data (property names, error context), not shape
OPEN_MAPS = {"properties", "context", "links"}


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / name).read_text())


class _Raw:
    def __init__(self, body: Any, status: int) -> None:
        self.data = json.dumps(body).encode()
        self.status = status

    def getheader(self, name, default=None):
        return default


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_file_names_its_source_and_the_sdk_model_reads_it(path):
    recorded = json.loads(path.read_text())
    assert recorded["_source"].startswith("https://")
    method, route = recorded["_request"].split(" ", 1)
    assert method in {"GET", "POST"} and route.startswith("/")
    if "_model" in recorded:
        module, _, model = recorded["_model"].rpartition(".")
        package = importlib.import_module(module.rsplit(".", 1)[0])
        parsed = package.ApiClient().deserialize(_Raw(recorded["body"], recorded["_status"]),
                                                 model)
        assert parsed is not None


# -- the adapter reads every file --------------------------------------------------------
class Recorded:
    """Serves recorded answers: ``routes`` maps "METHOD /path" to the answers to give in
    order (the last one repeats)."""

    def __init__(self, routes: dict[str, list[tuple[int, Any]]]) -> None:
        self.routes = {k.rstrip("/"): v for k, v in routes.items()}
        self.seen: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        key = f"{request.method} {request.path.rstrip('/')}"
        self.seen.append(key)
        answers = self.routes.get(key) or [(404, {"status": "error", "message": "not found",
                                                  "category": "OBJECT_NOT_FOUND"})]
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        return Response(json.dumps(body), status=status,
                        mimetype="application/json")(environ, start_response)


def _answer(name: str) -> tuple[int, Any]:
    recorded = load(name)
    return recorded["_status"], recorded["body"]


@pytest.fixture
def recorded():
    servers = []

    def serve(routes: dict[str, list[tuple[int, Any]]], plan: str = "enterprise"):
        clock = FakeClock(NOW)
        app = Recorded(routes)
        server = Server(app)
        servers.append(server)
        crm = HubSpotCRM("corpus", TOKEN, server.url, plan=plan, clock=clock, engagement_workers=1)
        return app, crm, clock

    yield serve
    for server in servers:
        server.stop()


def test_adapter_reads_a_search_page_with_every_engagement_property(recorded):
    _app, crm, _clock = recorded({"POST /crm/v3/objects/contacts/search": [
        _answer("contacts_search_page.json"), (200, {"total": 2417, "results": []})]})
    maja, lars = list(crm.iter_contacts(NOW.replace(month=10), NOW))
    assert (maja.id, maja.email, maja.owner_id, maja.score_in_crm) == ("512", "maja@lund.dk",
                                                                      "101", 35)
    assert maja.fields["job_title"] == "Head of Marketing"
    assert maja.fields["company_size"] == "45"
    assert maja.updated_at == datetime(2026, 10, 30, 16, 2, 11, 50000, tzinfo=UTC)
    assert maja.activity_signature != lars.activity_signature
    assert "2026-10-29T06:58:01.000Z" in maja.activity_signature  # the last open moves it


def test_adapter_reads_a_contacts_page(recorded):
    app, crm, _clock = recorded({"GET /crm/v3/objects/contacts": [
        _answer("contacts_list_page.json"), (200, {"results": []})]})
    [maja] = list(crm.iter_contacts(None, NOW))
    assert maja.id == "512" and maja.is_customer is False
    assert app.seen.count("GET /crm/v3/objects/contacts") == 2  # followed paging.next.after


def test_adapter_builds_starter_engagement_from_the_documented_properties(recorded):
    """Without the events APIs the adapter uses only properties HubSpot documents."""
    documented = {p["name"] for p in load("properties_contacts_engagement.json")["body"][
        "results"]}
    assert set(ENGAGEMENT_PROPERTIES) <= documented
    assert set(SIGNATURE_PROPERTIES) <= documented
    _app, crm, _clock = recorded({"POST /crm/v3/objects/contacts/search": [
        _answer("contacts_search_page.json"), (200, {"total": 2417, "results": []})]},
        plan="starter")
    maja = next(iter(crm.iter_contacts(NOW.replace(month=10), NOW)))
    events = crm.fetch_events([maja], None)["512"]
    kinds = sorted((e.type, e.url or e.name or e.email_id) for e in events)
    assert kinds == sorted([
        (EventType.DOWNLOAD, "Inbound guide: guide-inbound-marketing"),
        (EventType.FORM_SUBMISSION, "Contact us: contact-form"),
        (EventType.PAGE_VIEW, "https://www.example-agency.com/services/seo"),
        (EventType.PAGE_VIEW, "https://www.example-agency.com/contact"),
        *[(EventType.EMAIL_OPEN, f"open-{k}") for k in range(1, 5)],
        *[(EventType.EMAIL_CLICK, f"click-{k}") for k in range(1, 4)]])
    assert all(e.id.startswith("hs-512-") for e in events)


@pytest.mark.parametrize("name, scores, written, failed", [
    ("batch_update_200.json", {"512": 35}, ["512"], set()),
    ("batch_update_207.json", {"512": 35, "99999": 1}, ["512"], {"99999"}),
    ("batch_update_400_validation.json", {"512": 35}, [], {"512"}),
])
def test_adapter_reads_batch_update_answers(recorded, name, scores, written, failed):
    _app, crm, _clock = recorded({"POST /crm/v3/objects/contacts/batch/update": [
        _answer(name)]})
    report = crm.write_scores(scores)
    assert report.written == written and set(report.failed) == failed
    assert report.calls == 1  # an unknown id is not retried; one record cannot be split


def test_adapter_reads_the_created_property(recorded):
    app, crm, _clock = recorded({
        "GET /crm/v3/properties/contacts/groups/connector": [(200, {
            "name": "connector", "label": "Connector", "displayOrder": -1, "archived": False})],
        "POST /crm/v3/properties/contacts": [_answer("property_score_201.json")]})
    crm.ensure_score_property(ScoreProperty())
    assert "POST /crm/v3/properties/contacts" in app.seen


def test_adapter_reads_email_events_and_ignores_other_types(recorded):
    _app, crm, _clock = recorded({"GET /email/public/v1/events": [
        _answer("email_events_page.json"),
        (200, {"hasMore": False, "offset": "CgwIz5HX0QYQ8L3h-wM=", "events": []})]})
    events = crm._email_events(Contact(id="512", email="maja@lund.dk"), None)
    assert [(e.type, e.email_id) for e in events] == [(EventType.EMAIL_OPEN, "211000123"),
                                                      (EventType.EMAIL_CLICK, "211000123")]
    assert events[0].occurred_at == datetime.fromtimestamp(1761893881, UTC)
    assert events[1].url == "https://www.example-agency.com/services/seo"


def test_adapter_reads_events_api_page_views_and_forms(recorded):
    _app, crm, _clock = recorded({"GET /events/v3/events": [
        _answer("events_v3_page.json"), (200, {"results": []})]})
    events = crm._analytics_events(Contact(id="512", email="maja@lund.dk"), None)
    assert [(e.type, e.url, e.name) for e in events] == [
        (EventType.PAGE_VIEW, "https://www.example-agency.com/contact", None),
        (EventType.FORM_SUBMISSION, "https://www.example-agency.com/contact", "contact-form")]


def test_adapter_unsubscribes_from_active_marketing_types_only(recorded):
    app, crm, _clock = recorded({
        "GET /communication-preferences/v3/definitions": [
            _answer("subscription_definitions.json")],
        "POST /communication-preferences/v3/unsubscribe": [_answer("subscription_status.json")]})
    for cid in ("512", "513"):
        crm.unsubscribe(Contact(id=cid, email=f"{cid}@lund.dk"))
    assert app.seen.count("GET /communication-preferences/v3/definitions") == 1
    assert app.seen.count("POST /communication-preferences/v3/unsubscribe") == 2  # 7001 only


def test_adapter_reads_owners(recorded):
    _app, crm, _clock = recorded({"GET /crm/v3/owners/": [_answer("owners_page.json")]})
    owner = crm.get_owner(Contact(id="512", email="maja@lund.dk", owner_id="101"))
    assert (owner.name, owner.email) == ("Linnea Berg", "linnea@example-agency.com")


def test_adapter_waits_out_a_429_without_retry_after(recorded):
    _app, crm, clock = recorded({"GET /crm/v3/objects/contacts": [
        _answer("error_429_ten_secondly.json"), _answer("contacts_list_page.json"),
        (200, {"results": []})]})
    assert [c.id for c in crm.iter_contacts(None, NOW)] == ["512"]
    assert clock.slept >= 10  # HubSpot's ten-second window, as no Retry-After says


def test_adapter_degrades_on_403_missing_scopes(recorded):
    app, crm, _clock = recorded({
        "GET /email/public/v1/events": [_answer("error_403_missing_scopes.json")],
        "POST /crm/v3/objects/contacts/search": [
            _answer("contacts_search_page.json"), (200, {"total": 2417, "results": []})],
        "GET /events/v3/events": [(200, {"results": []})]}, plan="professional")
    maja = next(iter(crm.iter_contacts(NOW.replace(month=10), NOW)))
    events = crm.fetch_events([maja], None)["512"]
    assert len([e for e in events if e.type == EventType.EMAIL_OPEN]) == 4
    assert app.seen.count("GET /email/public/v1/events") == 1


# -- the sandbox answers in the same shapes -----------------------------------------------
def shape_problems(recorded: Any, ours: Any, where: str = "body",
                   optional: frozenset[str] = frozenset()) -> list[str]:
    """Keys the vendor sends that we do not (or the other way), and JSON types that differ;
    ``null`` matches any type (HubSpot sends null for unset values)."""
    if recorded is None or ours is None:
        return []
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            return [f"{where}: an object in the recording, {type(ours).__name__} here"]
        if where.rsplit(".", 1)[-1] in OPEN_MAPS:
            return []
        problems = [f"{where}.{k}: missing" for k in recorded
                    if k not in ours and k not in optional]
        problems += [f"{where}.{k}: not in the vendor's answer" for k in ours
                     if k not in recorded]
        for key in recorded.keys() & ours.keys():
            problems += shape_problems(recorded[key], ours[key], f"{where}.{key}", optional)
        return problems
    if isinstance(recorded, list):
        if not isinstance(ours, list):
            return [f"{where}: a list in the recording"]
        problems: list[str] = []
        for i, item in enumerate(ours[:5] if recorded else []):
            problems += shape_problems(_like(recorded, item), item, f"{where}[{i}]", optional)
        return problems
    numbers = (int, float)
    same = (isinstance(recorded, bool) == isinstance(ours, bool)) and (
        type(recorded) is type(ours)
        or (isinstance(recorded, numbers) and isinstance(ours, numbers)))
    return [] if same else [f"{where}: {type(recorded).__name__} in the recording, "
                            f"{type(ours).__name__} here"]


def _like(recorded: list[Any], item: Any) -> Any:
    """The recorded element of the same kind (an OPEN for an OPEN), else the first."""
    for key in ("type", "eventType"):
        if isinstance(item, dict) and key in item:
            for candidate in recorded:
                if isinstance(candidate, dict) and candidate.get(key) == item[key]:
                    return candidate
    return recorded[0]


@pytest.fixture(scope="module")
def sandbox():
    app = HubSpotSandbox()
    people = Population(30, seed=5)
    account = app.add_account(TOKEN, HubSpotAccount(
        "shapes", people, plan="enterprise", ten_second_limit=100_000,
        search_per_second=100_000))
    app.add_account("pat-starter", HubSpotAccount("starter", Population(3, seed=5),
                                                  plan="starter"))
    app.add_account("pat-slow", HubSpotAccount("slow", Population(3, seed=5),
                                               ten_second_limit=1))
    account.add_contact(Contact(id="9001", email="maja@lund.dk", fields={}), [
        Event("o1", "9001", EventType.EMAIL_OPEN, NOW, email_id="nl-1"),
        Event("c1", "9001", EventType.EMAIL_CLICK, NOW, email_id="nl-1",
              url="https://www.example-agency.com/services/seo"),
        Event("v1", "9001", EventType.PAGE_VIEW, NOW, url="https://www.example-agency.com/"),
        Event("f1", "9001", EventType.FORM_SUBMISSION, NOW, name="contact-form")])
    with Server(app) as server:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        session.post(f"{server.url}/crm/v3/properties/contacts/groups",
                     json={"name": "connector", "label": "Connector"})
        yield server.url, session


def _sandbox_answer(name: str, url: str, s: requests.Session) -> requests.Response:
    score = {"name": "connector_lead_score", "label": "Lead score (connector)",
             "type": "number", "fieldType": "number", "groupName": "connector"}
    if name == "property_score_201.json":  # a name of its own: answered 201 once only
        return s.post(f"{url}/crm/v3/properties/contacts",
                      json={**score, "name": "connector_shape_score"})
    s.post(f"{url}/crm/v3/properties/contacts", json=score)  # 409 once it exists
    search = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                             "operator": "GTE", "value": "0"}]}],
              "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
              "limit": 2, "properties": ["email"]}
    update = "/crm/v3/objects/contacts/batch/update"
    return {
        "contacts_search_page.json": lambda: s.post(f"{url}/crm/v3/objects/contacts/search",
                                                    json=search),
        "contacts_list_page.json": lambda: s.get(f"{url}/crm/v3/objects/contacts",
                                                 params={"limit": 1}),
        "batch_update_200.json": lambda: s.post(f"{url}{update}", json={"inputs": [
            {"id": "1", "properties": {"connector_lead_score": "35"}}]}),
        "batch_update_207.json": lambda: s.post(f"{url}{update}", json={"inputs": [
            {"id": "1", "properties": {"connector_lead_score": "35"}},
            {"id": "99999", "properties": {"connector_lead_score": "1"}}]}),
        "batch_update_400_validation.json": lambda: s.post(f"{url}{update}", json={"inputs": [
            {"id": "1", "properties": {"connector_lead_score": "abc"}}]}),
        "email_events_page.json": lambda: s.get(f"{url}/email/public/v1/events",
                                                params={"recipient": "maja@lund.dk"}),
        "events_v3_page.json": lambda: s.get(f"{url}/events/v3/events", params={
            "objectType": "contact", "objectId": "9001", "limit": 1}),
        "subscription_definitions.json": lambda: s.get(
            f"{url}/communication-preferences/v3/definitions"),
        "subscription_status.json": lambda: s.post(
            f"{url}/communication-preferences/v3/unsubscribe", json={
                "emailAddress": "maja@lund.dk", "subscriptionId": "7001",
                "legalBasis": "LEGITIMATE_INTEREST_CLIENT", "legalBasisExplanation": "x"}),
        "owners_page.json": lambda: s.get(f"{url}/crm/v3/owners/"),
        "properties_contacts_engagement.json": lambda: s.get(
            f"{url}/crm/v3/properties/contacts"),
        "error_429_ten_secondly.json": lambda: [
            requests.get(f"{url}/crm/v3/objects/contacts",
                         headers={"Authorization": "Bearer pat-slow"}) for _ in range(2)][-1],
        "error_403_missing_scopes.json": lambda: requests.get(
            f"{url}/email/public/v1/events", params={"recipient": "x@y.z"},
            headers={"Authorization": "Bearer pat-starter"}),
    }[name]()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_sandbox_answers_in_the_recorded_shape(sandbox, path):
    url, session = sandbox
    recorded = json.loads(path.read_text())
    answer = _sandbox_answer(path.name, url, session)
    assert answer.status_code == recorded["_status"], answer.text
    problems = shape_problems(recorded["body"], answer.json(),
                              optional=frozenset(recorded.get("_optional", [])))
    assert problems == []

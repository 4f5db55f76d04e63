"""ActiveCampaign's documented answers (tests/corpus/activecampaign/*.json, each naming its
source) against the adapter and the sandbox, which are written from them and not the other
way round: the adapter reads every file, and the sandbox answers in the same shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.base import WriteReport
from connector.models import Contact, Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.server import Server

CORPUS = Path(__file__).resolve().parent / "activecampaign"
FILES = sorted(CORPUS.glob("*.json"))
TOKEN = "ac-corpus-token"
NOW = datetime(2026, 11, 2, 15, tzinfo=UTC)


def _load(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / name).read_text())


class Stub:
    """Answers the adapter's calls: the corpus file for its endpoint, empty lists else."""

    def __init__(self, endpoint: str, response: Any) -> None:
        self.endpoint, self.response = endpoint, response
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def get(self, path: str, **params: Any) -> Any:
        self.asked.append((path, params))
        shape = "/".join("{id}" if p.isdigit() else p for p in path.split("/"))
        if f"GET {shape}" == self.endpoint:
            return self.response(params) if callable(self.response) else self.response
        return {}

    def post(self, path: str, body: Any) -> Any:
        self.asked.append((path, body))
        return self.response if f"POST {path}" == self.endpoint else {}

    def close(self) -> None:
        pass


def _crm(endpoint: str, response: Any, **kw: Any) -> tuple[ActiveCampaignCRM, Stub]:
    crm = ActiveCampaignCRM("corpus", TOKEN, "https://x.api-us1.com", **kw)
    stub = Stub(endpoint, response)
    crm.http = stub  # type: ignore[assignment]
    return crm, stub


def _event_rows(events: list[Event]) -> list[list[Any]]:
    return [[e.id, str(e.type), e.url, e.email_id, e.name]
            for e in sorted(events, key=lambda e: e.id)]


def _tracking_pages(page: dict[str, Any]) -> Any:
    """The file's first page, then the rest of ``meta.total`` in pages of 20."""
    total = int(page["meta"]["total"])
    template = page["trackingLogs"][0]

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        offset = int(params.get("offset", 0))
        if offset == 0:
            return page
        rows = [{**template, "id": str(9000 + i)} for i in range(offset, min(offset + 20, total))]
        return {"trackingLogs": rows, "meta": page["meta"]}

    return answer


def _parse(name: str, doc: dict[str, Any]) -> None:
    """Drive the adapter method that reads ``doc``'s endpoint and check ``_expect``."""
    endpoint, body, expect = doc["_endpoint"], doc["response"], doc["_expect"]
    if endpoint == "GET /contacts":
        crm, _ = _crm(endpoint, body)
        got = list(crm.iter_contacts(None, NOW))
        assert len(got) == expect["contacts"] and all(c.email for c in got)
        assert not crm.notes.skipped
    elif endpoint == "GET /fieldValues":  # read beside the contacts of a page
        fields = _load("fields_list.json")["response"]
        page = {"contacts": [{"id": cid, "email": f"c{cid}@x.co"} for cid in expect["values"]],
                "fieldValues": body["fieldValues"]}
        crm, _ = _crm("GET /contacts", page, field_map={"job_title": "PERSONALIZEDTAG"})
        crm._field_ids = {f["perstag"]: f["id"] for f in fields["fields"]}
        got = {c.id: c.fields["job_title"] for c in crm.iter_contacts(None, NOW)}
        assert got == expect["values"]
    elif endpoint == "GET /fields":
        crm, _ = _crm(endpoint, body)
        assert crm._field_map() == expect["perstags"]
    elif endpoint == "GET /tags":
        crm, _ = _crm(endpoint, body)
        assert crm._tag_names() == expect["tags"]
    elif endpoint == "GET /deals":
        crm, _ = _crm(endpoint, body)
        assert {cid: i["owner"] for cid, i in crm._deal_info().items()} == expect["owners"]
    elif endpoint == "GET /users/{id}":
        crm, _ = _crm(endpoint, body)
        owner = crm.get_owner(Contact(id="5", email=None, fields={}, owner_id="1"))
        assert owner is not None and (owner.name, owner.email) == (expect["name"],
                                                                   expect["email"])
    elif endpoint == "GET /activities":
        crm, _ = _crm(endpoint, body)
        events = crm._activities({"contact": "4"}, None).get("4", [])
        assert _event_rows(events) == expect["events"]
        assert not [n for n in crm.notes.degraded if "unknown type" in n]
    elif endpoint == "GET /contacts/{id}/trackingLogs":
        answer = _tracking_pages(body) if "meta" in body else body
        crm, stub = _crm(endpoint, answer)
        cid = str(body["trackingLogs"][0]["subscriberid"])
        visits = [e for e in crm._page_visits(cid, None) if e.type == EventType.PAGE_VIEW]
        total = int(body.get("meta", {}).get("total", len(body["trackingLogs"])))
        assert len(visits) == (total if visits else expect["page_views"])
        if "pages_asked" in expect:
            assert len(stub.asked) == expect["pages_asked"]
    elif endpoint == "POST /import/bulk_import":
        crm, _ = _crm(endpoint, body)
        assert crm._queue([("1", ("a@x.co", 5))], "3", WriteReport()) == expect["batchId"]
    elif endpoint == "GET /import/info":
        crm, _ = _crm(endpoint, body)
        report = WriteReport()
        emails = {cid: (f"c{cid}@x.co", 40) for cid in [*expect["written"], "999"]}
        crm._await({"b": list(emails.items())}, report)
        assert sorted(report.written) == sorted(expect["written"])
        assert list(report.failed) == ["999"]
    elif endpoint == "POST /contact/sync":
        crm, stub = _crm(endpoint, body)
        crm._field_ids = {"CONNECTOR_LEAD_SCORE": "9"}
        crm._emails["10"] = body["contact"]["email"]
        report = crm.write_scores({"10": 31})
        assert report.written == ["10"] and not report.failed
    else:  # pragma: no cover - a new corpus file needs its reader here
        pytest.fail(f"{name}: no adapter reader for {endpoint}")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_corpus_file_names_its_source_and_the_adapter_reads_it(path):
    doc = json.loads(path.read_text())
    assert doc["_source"].strip() and doc["_endpoint"] and "response" in doc
    _parse(path.name, doc)


def test_the_tracking_logs_of_a_busy_contact_are_read_to_the_last_page():
    """45 visits answered 20 a page: all 45 (the old adapter kept the first 20)."""
    doc = _load("tracking_logs_page.json")
    crm, stub = _crm(doc["_endpoint"], _tracking_pages(doc["response"]))
    visits = crm._page_visits("112", None)
    assert len({e.id for e in visits}) == 45
    assert [p.get("offset") for _, p in stub.asked] == [0, 20, 40]


def test_a_server_that_ignores_limit_and_sends_no_total_is_still_paged():
    rows = _load("tracking_logs_page.json")["response"]["trackingLogs"]

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        offset = int(params.get("offset", 0))
        page = [{**rows[0], "id": str(i)} for i in range(offset, min(offset + 20, 30))]
        return {"trackingLogs": page}

    crm, stub = _crm("GET /contacts/{id}/trackingLogs", answer)
    assert len(crm._page_visits("112", None)) == 30 and len(stub.asked) == 2


def test_every_activity_spelling_and_both_json_data_forms_are_read():
    base = _load("activities_engagement.json")["response"]["activities"][0]
    cases = {("Log", "log"): "email_open", ("open", ""): "email_open",
             ("LinkData", "link-data"): "email_click", ("link", ""): "email_click",
             ("", "link-data"): "email_click", ("Form", "form"): "form_submission",
             ("form", ""): "form_submission"}
    for (rtype, model), expected in cases.items():
        for data in ('{"campaignid": "12", "link": "https://a.co/x", "form": "Contact us"}',
                     {"campaignid": "12", "link": "https://a.co/x", "form": "Contact us"}):
            row = {**base, "reference_type": rtype, "referenceModelName": model,
                   "jsonData": data}
            crm, _ = _crm("GET /activities", {"activities": [row]})
            [event] = crm._activities({"contact": "4"}, None)["4"]
            assert (str(event.type), event.email_id if expected != "form_submission"
                    else event.name) == (expected, "12" if expected != "form_submission"
                                         else "Contact us"), (rtype, model, data)


def test_an_unknown_activity_type_is_counted_in_the_notes_not_dropped_silently():
    base = _load("activities_engagement.json")["response"]["activities"][0]
    rows = [{**base, "id": str(i), "reference_type": "WhatsAppReply",
             "referenceModelName": "whatsapp-reply"} for i in range(3)]
    crm, _ = _crm("GET /activities", {"activities": [*rows, {**base, "id": "9"}]})
    events = crm._activities({"contact": "4"}, None)["4"]
    assert [str(e.type) for e in events] == ["email_open"]
    assert "3 activities of unknown type 'WhatsAppReply' ignored (not scored)" in \
        crm.notes.degraded


# -- the sandbox answers in the corpus's shapes ------------------------------------------


def _kind(value: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "string", list: "list",
            dict: "object"}.get(type(value), "null")


def _mismatches(doc: Any, got: Any, path: str, strict: bool) -> list[str]:
    """Where ``got`` differs in shape from ``doc``: a key of ``doc`` missing (``strict``)
    or a value of another JSON type (null stands for "any": the documents use it for
    values that are absent). Lists compare their first items."""
    if doc is None or got is None:
        return []
    if _kind(doc) != _kind(got):
        return [f"{path}: {_kind(got)} where the documents have {_kind(doc)}"]
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key not in got:
                if strict:
                    out.append(f"{path}.{key}: missing")
                continue
            out += _mismatches(value, got[key], f"{path}.{key}", strict)
    elif isinstance(doc, list) and doc and got:
        out += _mismatches(doc[0], got[0], f"{path}[0]", strict)
    return out


@pytest.fixture(scope="module")
def sandbox():
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("corpus", None, requests_per_second=10_000,
                                               import_polls=0))
    account.add_contact(Contact(id="4", email="test@example.com",
                                fields={"first_name": "Test", "job_title": "CEO"},
                                created_at=NOW, updated_at=NOW, owner_id="1"))
    for i, (kind, extra) in enumerate([
            (EventType.EMAIL_OPEN, {"email_id": "12"}),
            (EventType.EMAIL_CLICK, {"email_id": "12", "url": "https://a.co/pricing"}),
            (EventType.DOWNLOAD, {"name": "Download the SEO guide"})]
            + [(EventType.PAGE_VIEW, {"url": f"https://a.co/{n}"}) for n in range(25)]):
        account.add_event(Event(f"e{i}", "4", kind, NOW, **extra))
    from connector.models import Owner
    account.users["1"] = Owner(id="1", name="John Doe", email="johndoe@example.com")
    account.tags["1"] = "one"
    with Server(app) as server:
        yield f"{server.url}/api/3"


# endpoint -> (how to ask the sandbox, strict: every documented key must be there).
# Engagement and writes are strict; on listings the keys the adapter reads are checked
# (REQUIRED) and every shared key must have the documented type.
ASK = {
    "GET /contacts": ("get", "/contacts", {"include": "fieldValues"}, False),
    "GET /fieldValues": ("get", "/contacts", {"include": "fieldValues"}, False),
    "GET /fields": ("get", "/fields", {}, False),
    "GET /tags": ("get", "/tags", {}, False),
    "GET /deals": ("get", "/deals", {}, False),
    "GET /users/{id}": ("get", "/users/1", {}, False),
    "GET /activities": ("get", "/activities", {"contact": "4"}, True),
    "GET /contacts/{id}/trackingLogs": ("get", "/contacts/4/trackingLogs", {}, True),
    "POST /import/bulk_import": ("post", "/import/bulk_import",
                                 {"contacts": [{"email": "test@example.com", "fields": []}]},
                                 True),
    "POST /contact/sync": ("post", "/contact/sync", {"contact": {"email": "test@example.com"}},
                           False),
}
REQUIRED = {
    "GET /contacts": {"contacts": ["id", "email", "firstName", "lastName", "cdate", "udate"]},
    "GET /fieldValues": {"fieldValues": ["contact", "field", "value"]},
    "GET /fields": {"fields": ["id", "perstag", "title", "type"]},
    "GET /tags": {"tags": ["id", "tag"]},
    "GET /deals": {"deals": ["contact", "owner", "status", "mdate"]},
    "POST /contact/sync": {"fieldValues": ["contact", "field", "value"]},
}


@pytest.mark.parametrize("path", [p for p in FILES if json.loads(p.read_text())["_endpoint"]
                                  in ASK or json.loads(p.read_text())["_endpoint"]
                                  == "GET /import/info"], ids=lambda p: p.name)
def test_the_sandbox_answers_in_the_documented_shapes(sandbox, path):
    doc = json.loads(path.read_text())
    endpoint = doc["_endpoint"]
    h = {"Api-Token": TOKEN}
    if endpoint == "GET /import/info":
        batch = requests.post(f"{sandbox}/import/bulk_import", headers=h, json={
            "contacts": [{"email": "test@example.com", "fields": []}]}).json()["batchId"]
        got = requests.get(f"{sandbox}/import/info", headers=h,
                           params={"batchId": batch}).json()
        strict = True
    else:
        method, route, args, strict = ASK[endpoint]
        if method == "get":
            got = requests.get(f"{sandbox}{route}", headers=h, params=args).json()
        else:
            got = requests.post(f"{sandbox}{route}", headers=h, json=args).json()
    body = doc["response"]
    if endpoint == "GET /activities":  # sideloads of ?include=, and the model names
        assert {str(a["reference_type"]) for a in got["activities"]} <= {
            "Log", "LinkData", "Form", "TrackingLog"}  # TrackingLog: a site visit
        body = {k: v for k, v in body.items() if k in ("activities", "meta")}
    assert _mismatches(body, got, "$", strict) == []
    for key, names in REQUIRED.get(endpoint, {}).items():
        assert got[key], f"{endpoint}: no {key} to compare"
        assert set(names) <= set(body[key][0]) and set(names) <= set(got[key][0])


def test_the_sandbox_sends_json_data_as_a_string_and_pages_tracking_logs_by_20(sandbox):
    h = {"Api-Token": TOKEN}
    acts = requests.get(f"{sandbox}/activities", headers=h, params={"contact": "4"}).json()
    assert {a["reference_type"] for a in acts["activities"]} == {
        "Log", "LinkData", "Form", "TrackingLog"}  # TrackingLog: a site visit (issue 17)
    assert all(isinstance(a["jsonData"], str) for a in acts["activities"])
    first = requests.get(f"{sandbox}/contacts/4/trackingLogs", headers=h).json()
    rest = requests.get(f"{sandbox}/contacts/4/trackingLogs", headers=h,
                        params={"offset": 20}).json()
    assert (len(first["trackingLogs"]), len(rest["trackingLogs"])) == (20, 5)
    assert first["meta"]["total"] == "25"

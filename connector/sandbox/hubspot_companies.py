"""Companies in the loopback HubSpot: CRM v3 company objects, their properties and their
associations with contacts (the v4 association routes: hubspot_associations.py), as HubSpot
documents them and the SDK (hubspot-api-client 12: ``crm.companies``,
``crm.associations.v4``, ``crm.properties``) reads them.

Sources, cited again where they decide something: HubSpot's OpenAPI documents
(github.com/HubSpot/HubSpot-public-api-spec-collection) PublicApiSpecs/CRM/Companies/
Rollouts/424/v3/companies.json ("companies.json" below) and PublicApiSpecs/CRM/
Associations/Rollouts/130902/v4/associations.json ("associations.json"); the v4
associations guide (developers.hubspot.com/docs/api/crm/associations, "the v4 guide").

Seeding: a contact whose ``company`` field names a company is associated with it as its
primary company, the company created from the first such contact (HubSpot creates and
associates companies for new contacts, by email domain; in the seeded population the
company name is what colleagues share, their email domains being per person).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.hubspot_associations import asks_for, inline
from connector.sandbox.hubspot_http import (
    Invalid,
    ObjectSchema,
    answer,
    error,
    hubspot_defined,
    iso,
    json_body,
    ms,
    page_size,
    parse_datetime,
    search_page,
    wanted,
)
from connector.sandbox.population import company_domain

# the v4 guide's example company is 9001 ("Associate records during creation"); ids of
# the sandbox's companies count from there, apart from its contacts' ids
COMPANY_ID_BASE = 9000
BATCH_LIMIT = 100  # inputs of a batch read or update, as for contacts
READ = ("crm.objects.companies.read",)
WRITE = ("crm.objects.companies.write",)
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "list_companies": READ, "get_company": READ, "batch_read_companies": READ,
    "search_companies": READ, "batch_update_companies": WRITE,
}
SEARCH_ROUTES = frozenset({"search_companies"})
RULES = [
    Rule("/crm/v3/objects/companies", endpoint="list_companies", methods=["GET"]),
    Rule("/crm/v3/objects/companies/search", endpoint="search_companies", methods=["POST"]),
    Rule("/crm/v3/objects/companies/batch/read", endpoint="batch_read_companies",
         methods=["POST"]),
    Rule("/crm/v3/objects/companies/batch/update", endpoint="batch_update_companies",
         methods=["POST"]),
    Rule("/crm/v3/objects/companies/<company_id>", endpoint="get_company", methods=["GET"]),
]

# HubSpot's default company properties the sandbox keeps: (name, label, type, calculated);
# knowledge.hubspot.com/properties/hubspot-crm-default-company-properties
_DEFAULTS: tuple[tuple[str, str, str, bool], ...] = (
    ("name", "Company name", "string", False),
    ("domain", "Company Domain Name", "string", False),
    ("numberofemployees", "Number of Employees", "number", False),
    ("country", "Country/Region", "string", False),
    ("num_associated_contacts", "Number of Associated Contacts", "number", True),
    ("createdate", "Create Date", "datetime", True),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", True),
    ("hs_object_id", "Record ID", "number", True),
)
# answered when a read names no properties (name and domain: *unverified*, the companies
# guide developers.hubspot.com/docs/api/crm/companies names only the ``properties``
# parameter), and with any read (as contacts answer createdate, hs_object_id and their
# last-modified date; a company's is hs_lastmodifieddate, knowledge.hubspot.com/properties/
# hubspot-crm-default-company-properties "Last Modified Date")
DEFAULT_READ = ("name", "domain")
ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")


def default_company_properties() -> list[dict[str, Any]]:
    return [hubspot_defined(name, label, kind, "companyinformation", calculated=calc,
                            unique=name == "hs_object_id")
            for name, label, kind, calc in _DEFAULTS]


class CompanyBook:
    """One portal's companies, their properties and their contacts."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.records: dict[str, dict[str, Any]] = {}  # id -> props, created, updated
        self.by_name: dict[str, str] = {}
        self.members: dict[str, list[int]] = {}  # company id -> contact ids, sorted
        self.company_of: dict[str, str] = {}  # contact id -> its (primary) company
        self._ids: list[int] | None = None
        self.schema = ObjectSchema(
            "companies", default_company_properties,
            frozenset(name for name, *_ in _DEFAULTS),
            frozenset(name for name, _, _, calculated in _DEFAULTS if calculated),
            {"companyinformation": {"name": "companyinformation",
                                    "label": "Company information", "displayOrder": 0,
                                    "archived": False}})

    def join(self, contact: Any) -> str | None:
        """Associate the contact with the company its ``company`` field names (created
        from this contact if new); the company's id, None for a contact without one."""
        earlier = self.company_of.pop(str(contact.id), None)
        if earlier is not None:  # the contact added again: it moves with its field
            self.members[earlier].remove(int(contact.id))
        name = (contact.fields.get("company") or "").strip()
        if not name:
            return None
        company_id = self.by_name.get(name)
        if company_id is None:
            company_id = self.add(name, created=contact.created_at or self.clock(), props={
                "numberofemployees": contact.fields.get("company_size"),
                "country": contact.fields.get("country")})
        bisect.insort(self.members[company_id], int(contact.id))
        self.company_of[str(contact.id)] = company_id
        return company_id

    def add(self, name: str, *, created: datetime, props: dict[str, Any]) -> str:
        company_id = str(COMPANY_ID_BASE + len(self.records) + 1)
        self.records[company_id] = {"created": created, "updated": created, "props": {
            "name": name, "domain": company_domain(name), **props,
            "createdate": iso(created), "hs_object_id": company_id}}
        self.by_name[name] = company_id
        self.members[company_id] = []
        self._ids = None
        return company_id

    def sorted_ids(self) -> list[int]:
        if self._ids is None:
            self._ids = sorted(int(cid) for cid in self.records)
        return self._ids

    def values(self, company_id: str) -> dict[str, str | None]:
        record = self.records[company_id]
        return {**record["props"], "hs_lastmodifieddate": iso(record["updated"]),
                "num_associated_contacts": str(len(self.members[company_id]))}

    def view(self, company_id: str, names: list[str], associations: Iterable[str] = (),
             base_url: str = "") -> dict[str, Any]:
        """The company as a SimplePublicObjectWithAssociations (companies.json): the named
        properties (unset ones null, unknown ones left out) plus the three always
        answered, and the associations asked for."""
        record = self.records[company_id]
        values = self.values(company_id)
        known = self.schema.builtin | set(self.schema.properties)
        out = {n: values.get(n) for n in (names or DEFAULT_READ) if n in known}
        out.update({n: values[n] for n in ALWAYS})
        body: dict[str, Any] = {"id": company_id, "properties": out,
                                "createdAt": iso(record["created"]),
                                "updatedAt": iso(record["updated"]), "archived": False}
        if asks_for(associations, "contacts") and self.members[company_id]:
            body["associations"] = {"contacts": inline(
                self.members[company_id], "contacts", f"{base_url}/crm/v4/objects/companies/"
                f"{company_id}/associations/contacts")}
        return body

    def contact_associations(self, contact_id: str, base_url: str) -> dict[str, Any] | None:
        """A contact's ``associations`` when read with ``associations=companies``
        (SimplePublicObjectWithAssociations of the contacts document); None without a
        company (HubSpot leaves the key out then)."""
        company_id = self.company_of.get(contact_id)
        if company_id is None:
            return None
        return {"companies": inline([int(company_id)], "companies", f"{base_url}/crm/v4/"
                                     f"objects/contacts/{contact_id}/associations/companies")}

    def targets(self, kind: str, object_id: str) -> list[int]:
        """The ids the object (a contact or a company) is associated with, ascending."""
        if kind == "contacts":
            company_id = self.company_of.get(object_id)
            return [int(company_id)] if company_id else []
        return self.members.get(object_id, [])

    def touch(self, company_id: str) -> None:
        self.records[company_id]["updated"] = self.clock()


class Portal(Protocol):
    """What the company routes read of a HubSpot account (sandbox/hubspot.py)."""

    companies: CompanyBook
    contacts: dict[str, dict[str, Any]]
    clock: Callable[[], datetime]


class CompanyRoutes:
    """The company and association routes of the HubSpot sandbox (mixed into its WSGI
    app, which authenticates, limits and checks the scopes of ``ROUTE_SCOPES`` first)."""

    def linked(self, request: Request, account: Portal,
               contact: dict[str, Any]) -> dict[str, Any]:
        """A contact read with ``associations=companies`` (GET /crm/v3/objects/contacts and
        .../{contactId}: "A comma separated list of object types to retrieve associated IDs
        for"), its company added under ``associations``."""
        if asks_for(wanted(request.args.getlist("associations")), "companies"):
            links = account.companies.contact_associations(contact["id"],
                                                           request.host_url.rstrip("/"))
            if links:
                contact["associations"] = links
        return contact

    # GET /crm/v3/objects/companies (companies.json "get-/crm/v3/objects/companies_getPage":
    # limit default 10, ``after`` cursor, properties, associations)
    def list_companies(self, request: Request, account: Portal) -> Response:
        book = account.companies
        limit = page_size(request.args.get("limit"), 10, 100)
        after = request.args.get("after")
        ids = book.sorted_ids()
        start = bisect.bisect_right(ids, int(after)) if after else 0
        page = ids[start:start + limit]
        names = wanted(request.args.getlist("properties"))
        links = wanted(request.args.getlist("associations"))
        body: dict[str, Any] = {"results": [
            book.view(str(cid), names, links, request.host_url.rstrip("/")) for cid in page]}
        if start + limit < len(ids):
            nxt = str(page[-1])
            body["paging"] = {"next": {"after": nxt, "link": f"{request.base_url}?after={nxt}"}}
        return answer(body)

    # GET /crm/v3/objects/companies/{companyId}: by id, or by a property's value with
    # ``idProperty`` (companies.json "get-/crm/v3/objects/companies/{companyId}_getById")
    def get_company(self, request: Request, account: Portal, company_id: str) -> Response:
        book = account.companies
        found = _find(book, company_id, request.args.get("idProperty"))
        if found is None:
            return error(404, "resource not found", "OBJECT_NOT_FOUND")
        return answer(book.view(found, wanted(request.args.getlist("properties")),
                                wanted(request.args.getlist("associations")),
                                request.host_url.rstrip("/")))

    # POST /crm/v3/objects/companies/batch/read (BatchReadInputSimplePublicObjectId;
    # 200 BatchResponseSimplePublicObject, 207 ...WithErrors for ids it cannot find)
    def batch_read_companies(self, request: Request, account: Portal) -> Response:
        body = json_body(request)
        inputs = _inputs(body)
        book = account.companies
        names = [str(n) for n in body.get("properties") or []]
        started = iso(account.clock())
        results, missing = [], []
        for item in inputs:
            found = _find(book, str(item.get("id")), body.get("idProperty"))
            if found is None:
                missing.append(str(item.get("id")))
            else:
                results.append(book.view(found, names))
        return _batch(results, missing, started, account.clock)

    # POST /crm/v3/objects/companies/batch/update: as the contacts' batch update (crm-apis
    # facts): an invalid value rejects the whole batch with 400 VALIDATION_ERROR, unknown
    # ids are a 207 with the others written
    def batch_update_companies(self, request: Request, account: Portal) -> Response:
        inputs = _inputs(json_body(request))
        book = account.companies
        for item in inputs:
            props = item.get("properties")
            if not isinstance(props, dict):
                raise Invalid("every input needs its properties")
            for name, value in props.items():
                problem = book.schema.invalid(name, value)
                if problem:
                    return error(400, f"Property values were not valid: {problem}",
                                 "VALIDATION_ERROR", errors=[{"message": problem}],
                                 context={"propertyName": [name]})
        started = iso(account.clock())
        results, missing = [], []
        for item in inputs:
            company_id = str(item.get("id"))
            if company_id not in book.records:
                missing.append(company_id)
                continue
            book.records[company_id]["props"].update(
                {k: book.schema.stored(k, v) for k, v in item["properties"].items()})
            book.touch(company_id)
            results.append(book.view(company_id, list(item["properties"])))
        return _batch(results, missing, started, account.clock)

    # POST /crm/v3/objects/companies/search (PublicObjectSearchRequest: filterGroups of
    # filters on any property, one sort, limit up to 200, ``after``; the 10,000-result cap
    # and the separate search limit are the contacts' search's)
    def search_companies(self, request: Request, account: Portal) -> Response:
        body = json_body(request)
        book = account.companies
        asked = search_page(body)
        if isinstance(asked, Response):
            return asked
        limit, after, groups = asked
        matched = [str(cid) for cid in book.sorted_ids()
                   if _matches(book.values(str(cid)), groups)]
        sorts = body.get("sorts") or []
        if sorts:
            name, descending = _sort(sorts[0])
            matched.sort(key=lambda cid: _sortable(book.values(cid).get(name)),
                         reverse=descending)
        page = matched[after:after + limit]
        names = [str(n) for n in body.get("properties") or []]
        out: dict[str, Any] = {"total": len(matched),
                               "results": [book.view(cid, names) for cid in page]}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return answer(out)



# -- helpers ------------------------------------------------------------------------------
def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise Invalid("inputs must be a list of objects")
    if len(inputs) > BATCH_LIMIT:
        raise Invalid(f"Batch size must be at most {BATCH_LIMIT}")
    return inputs


def _find(book: CompanyBook, key: str, id_property: Any) -> str | None:
    """The company ``key`` names: its id, or with ``idProperty`` its value of that
    property."""
    if id_property in (None, "", "hs_object_id"):
        return key if key in book.records else None
    return next((cid for cid in book.records
                 if book.values(cid).get(str(id_property)) == key), None)


def _batch(results: list[dict[str, Any]], missing: list[str], started: str,
           clock: Callable[[], datetime]) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": iso(clock())}
    if not missing:
        return answer(body)
    body["numErrors"] = 1
    body["errors"] = [{
        "status": "error", "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some COMPANY objects, they may be deleted or not exist. "
                   "Check that ids are valid.",
        "context": {"ids": missing}, "links": {}, "errors": []}]
    return answer(body, 207)


def _sort(sort: Any) -> tuple[str, bool]:
    if isinstance(sort, dict):
        return (str(sort.get("propertyName") or "hs_object_id"),
                str(sort.get("direction", "ASCENDING")).upper().startswith("DESC"))
    text = str(sort)
    return text.lstrip("-"), text.startswith("-")


def _sortable(value: Any) -> tuple[int, float, str]:
    """Numbers and dates by their value, other strings by their text, unset last."""
    if value is None:
        return (2, 0.0, "")
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, str(value))


def _number(value: Any) -> float | None:
    """A value as a number: numbers as such, datetimes as epoch milliseconds (the search
    filters' form for dates)."""
    try:
        return float(str(value))
    except ValueError:
        when = parse_datetime(value)
        return float(ms(when)) if when is not None else None


def _matches(values: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_filter_ok(values, f) for f in g.get("filters", [])) for g in groups)


def _filter_ok(values: dict[str, Any], f: dict[str, Any]) -> bool:
    """One filter of a search (its operators: EQ, NEQ, LT, LTE, GT, GTE, HAS_PROPERTY,
    NOT_HAS_PROPERTY, IN, NOT_IN; other operators match everything)."""
    left = values.get(str(f.get("propertyName")))
    op = str(f.get("operator", "EQ"))
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return (left is not None) == (op == "HAS_PROPERTY")
    if op in ("IN", "NOT_IN"):
        inside = str(left).lower() in {str(v).lower() for v in f.get("values") or []}
        return inside == (op == "IN")
    if left is None:
        return op == "NEQ"
    a, b = _number(left), _number(f.get("value"))
    if a is None or b is None:
        x, y = str(left).lower(), str(f.get("value", "")).lower()
        return {"EQ": x == y, "NEQ": x != y}.get(op, True)
    return {"GTE": a >= b, "GT": a > b, "LTE": a <= b, "LT": a < b, "EQ": a == b,
            "NEQ": a != b}.get(op, True)

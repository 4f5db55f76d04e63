"""Associations between contacts and companies in the loopback HubSpot: the v4 routes (one
record's associations, and a batch read) and the entries v3 reads carry inline under
``associations``, as HubSpot documents them: associations.json and the v4 guide, the
sources cited in hubspot_companies.py, which keeps the companies and their contacts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from connector.sandbox.hubspot_http import Invalid, answer, error, iso, json_body, page_size

ASSOCIATIONS_PAGE = 500  # "Retrieve all associations ... Limit 500 per call." (associations.json)
# "any batch read requests submitted to the Associations API may not exceed 1000 IDs"
# (developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)
ASSOCIATIONS_BATCH = 1000
# v3 objects list at most 100 associations inline, the rest behind ``paging``
# (developers.hubspot.com/changelog/announcing-a-change-to-how-v3-crm-apis-return-
# association-data); a primary association is two entries (below), kept on one page
INLINE_PAGE = 100
# HubSpot-defined association types (the v4 guide, "HubSpot defined association types";
# contact to company 279 is its example): (primary typeId, unlabeled typeId) and the v3
# names of the same two. The unlabeled type "will always [be] returned in responses with
# a label value of null" (the v4 guide); the primary one's label has been "<ObjectType>
# with Primary Company" since 2024-02-19 (developers.hubspot.com/changelog/changes-to-
# primary-labels-for-hubspot-defined-association-labels: "only the typeId should be used").
TYPE_IDS = {("contacts", "companies"): (1, 279), ("companies", "contacts"): (2, 280)}
V3_TYPES = {"companies": ("contact_to_company", "contact_to_company_unlabeled"),
            "contacts": ("company_to_contact", "company_to_contact_unlabeled")}
PRIMARY_LABEL = "Contact with Primary Company"
# object types by the names and type ids the v4 paths take ("you can use the object name
# (e.g., contact, company)" or its type id: the v4 guide); the others are objects the
# portal's app has no scope for (HubSpot's 403 MISSING_SCOPES, as for their v3 paths)
OBJECT_TYPES = {"contacts": "contacts", "contact": "contacts", "0-1": "contacts",
                "companies": "companies", "company": "companies", "0-2": "companies"}
UNSCOPED = {"deals": "crm.objects.deals.read", "deal": "crm.objects.deals.read",
            "0-3": "crm.objects.deals.read", "tickets": "tickets", "ticket": "tickets",
            "0-5": "tickets"}
# the v4 routes need any one of a long list of object scopes (their "security" blocks in
# associations.json); these are the ones of the two objects modelled here. Retrieving one
# record's associations also takes "oauth".
V4_SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write",
             "crm.objects.companies.read", "crm.objects.companies.write")
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "associations": ("oauth", *V4_SCOPES), "batch_read_associations": V4_SCOPES,
}
# "x-hubspot-rate-limit-exemptions": ["ten-secondly"] on the v4 batch routes
# (associations.json): they are not counted in the ten-second window
TEN_SECONDLY_EXEMPT = frozenset({"batch_read_associations"})
RULES = [
    Rule("/crm/v4/objects/<object_type>/<object_id>/associations/<to_type>",
         endpoint="associations", methods=["GET"]),
    Rule("/crm/v4/associations/<object_type>/<to_type>/batch/read",
         endpoint="batch_read_associations", methods=["POST"]),
]


class Linked(Protocol):
    def targets(self, kind: str, object_id: str) -> list[int]:
        """The ids the object (a contact or a company) is associated with, ascending."""
        ...


class Portal(Protocol):
    """What the association routes read of a HubSpot account (sandbox/hubspot.py)."""

    @property
    def companies(self) -> Linked: ...

    clock: Callable[[], datetime]


class AssociationRoutes:
    """The v4 association routes of the HubSpot sandbox (mixed into its WSGI app, which
    authenticates, limits and checks the scopes of ``ROUTE_SCOPES`` first)."""

    # GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}
    # (associations.json: CollectionResponseMultiAssociatedObjectWithLabelForwardPaging,
    # "Limit 500 per call", ``after`` cursor)
    def associations(self, request: Request, account: Portal, object_type: str,
                     object_id: str, to_type: str) -> Response:
        kinds = _kinds(object_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        start = _cursor(request.args.get("after"))
        limit = page_size(request.args.get("limit"), ASSOCIATIONS_PAGE, ASSOCIATIONS_PAGE)
        targets = account.companies.targets(kinds[0], object_id)
        body: dict[str, Any] = {"results": [_labelled(t, kinds)
                                            for t in targets[start:start + limit]]}
        if start + limit < len(targets):
            nxt = str(start + limit)
            body["paging"] = {"next": {"after": nxt, "link": f"{request.base_url}?after={nxt}"}}
        return answer(body)

    # POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read
    # (associations.json: inputs of {id, after}; results of {from, to, paging}, "The
    # 'paging' field will only be present if there are more pages"). An input with no
    # associations (or no object) is an error of the 207, not an empty result: category
    # OBJECT_NOT_FOUND, subCategory "crm.associations.NO_ASSOCIATIONS_FOUND", "No company
    # is associated with contact 1." (answers recorded from real portals in public
    # integrations' notes; the document types subCategory as an object, the recordings
    # show a string)
    def batch_read_associations(self, request: Request, account: Portal, object_type: str,
                                to_type: str) -> Response:
        kinds = _kinds(object_type, to_type)
        if isinstance(kinds, Response):
            return kinds
        inputs = json_body(request).get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise Invalid("inputs must be a list of objects")
        if len(inputs) > ASSOCIATIONS_BATCH:
            return error(400, f"The number of inputs must be at most {ASSOCIATIONS_BATCH}",
                         "VALIDATION_ERROR")
        started = iso(account.clock())
        results, errors = [], []
        for item in inputs:
            object_id = str(item.get("id"))
            start = _cursor(item.get("after"))
            targets = account.companies.targets(kinds[0], object_id)
            if not targets:
                errors.append(_no_associations(object_id, kinds))
                continue
            result: dict[str, Any] = {"from": {"id": object_id}, "to": [
                _labelled(t, kinds) for t in targets[start:start + ASSOCIATIONS_PAGE]]}
            if start + ASSOCIATIONS_PAGE < len(targets):
                result["paging"] = {"next": {"after": str(start + ASSOCIATIONS_PAGE)}}
            results.append(result)
        body: dict[str, Any] = {"status": "COMPLETE", "results": results,
                                "startedAt": started, "completedAt": iso(account.clock())}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
            return answer(body, 207)
        return answer(body)


# -- helpers ------------------------------------------------------------------------------
def asks_for(associations: Iterable[str], kind: str) -> bool:
    """Whether an ``associations=`` list names the object type ``kind``."""
    return any(OBJECT_TYPES.get(str(a).lower()) == kind for a in associations)


def inline(targets: list[int], kind: str, link: str) -> dict[str, Any]:
    """CollectionResponseAssociatedId: each associated record twice, by its primary and
    its unlabeled v3 type (both HubSpot-defined types of the pair), 100 entries a page."""
    primary, unlabeled = V3_TYPES[kind]
    per_page = INLINE_PAGE // 2
    page = targets[:per_page]
    out: dict[str, Any] = {"results": [{"id": str(t), "type": name} for t in page
                                       for name in (primary, unlabeled)]}
    if len(targets) > per_page:
        out["paging"] = {"next": {"after": str(per_page), "link": f"{link}?after={per_page}"}}
    return out


def _labelled(target: int, kinds: tuple[str, str]) -> dict[str, Any]:
    """MultiAssociatedObjectWithLabel: the primary type with its label, then the unlabeled
    one (label null, as the v4 guide says)."""
    primary, unlabeled = TYPE_IDS[kinds]
    return {"toObjectId": str(target), "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": primary, "label": PRIMARY_LABEL},
        {"category": "HUBSPOT_DEFINED", "typeId": unlabeled, "label": None}]}


def _kinds(object_type: str, to_type: str) -> tuple[str, str] | Response:
    """(from, to) object types by their names, or the answer for a pair not modelled:
    403 MISSING_SCOPES for objects the app has no scope for, 400 for unknown names."""
    kinds = (OBJECT_TYPES.get(object_type.lower()), OBJECT_TYPES.get(to_type.lower()))
    if kinds[0] and kinds[1] and kinds[0] != kinds[1]:
        return kinds[0], kinds[1]
    scope = UNSCOPED.get(object_type.lower()) or UNSCOPED.get(to_type.lower())
    if scope:
        return error(403, "This app hasn't been granted all required scopes to make this "
                     "call.", "MISSING_SCOPES", errors=[{
                         "message": "One or more of the following scopes are required.",
                         "context": {"requiredGranularScopes": [scope]}}])
    unknown = object_type if not kinds[0] else to_type
    return error(400, f"Unable to infer object type from: {unknown}", "VALIDATION_ERROR")


def _no_associations(object_id: str, kinds: tuple[str, str]) -> dict[str, Any]:
    source, target = (k[:-1] if k != "companies" else "company" for k in kinds)
    return {"status": "error", "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {target} is associated with {source} {object_id}.",
            "context": {"fromObjectId": [object_id], "fromObjectType": [source],
                        "toObjectType": [target]}, "links": {}, "errors": []}

def _cursor(raw: Any) -> int:
    if raw in (None, ""):
        return 0
    value = int(str(raw))
    if value < 0:
        raise Invalid("after must not be negative")
    return value

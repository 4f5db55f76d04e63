"""Accounts in the loopback ActiveCampaign (API v3): accounts and the account-contact
associations (their custom fields and values: ac_account_fields.py), in the shapes of
the shipped OpenAPI document (../shared/specs/activecampaign-v3.openapi.json, "the spec"
below; each route names its operation there).

Seeding: a contact whose ``company`` field names a company is associated with the account
of that name (created from the first such contact), with the contact's job title; "We
currently do not support contacts on multiple accounts" (the spec's 422 of POST
/accountContacts), so a contact has one account at most.

Paging: AC's v3 lists page with ``limit`` (at most 100) and ``offset`` and count in
``meta.total`` (developers.activecampaign.com/reference/pagination); the spec lists no
paging parameters for these lists and the sandbox pages them all the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from connector.sandbox.ac_http import Invalid, answer, errors, local, object_body, page
from connector.sandbox.population import company_domain

RULES = [
    ("/accounts", "list_accounts", ["GET"]),
    ("/accounts/<int:account_id>", "get_account", ["GET"]),
    ("/accounts/<int:account_id>", "update_account", ["PUT"]),
    ("/accountContacts", "list_account_contacts", ["GET"]),
    ("/accountContacts", "create_account_contact", ["POST"]),
    ("/accountContacts/<int:link_id>", "get_account_contact", ["GET"]),
    ("/contacts/<int:cid>/accountContacts", "contact_account_contacts", ["GET"]),
]


class AccountBook:
    """One ActiveCampaign account's accounts, account fields and values, and the
    accounts' contacts."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.accounts: dict[int, dict[str, Any]] = {}
        self.by_name: dict[str, int] = {}  # lower-cased name -> id ("already exists")
        self.links: dict[int, dict[str, Any]] = {}  # accountContact id -> the association
        self.link_of: dict[int, int] = {}  # contact id -> its accountContact id
        self.fields: dict[int, dict[str, Any]] = {}
        self.values: dict[int, dict[str, Any]] = {}
        self.value_of: dict[tuple[int, int], int] = {}  # (account, field) -> value id

    def join(self, contact_id: int, name: str | None, job_title: str | None,
             created: datetime) -> None:
        """Associate the contact with the account ``name`` (created if new)."""
        name = (name or "").strip()
        if not name or contact_id in self.link_of:
            return
        account_id = self.by_name.get(name.lower())
        if account_id is None:
            account_id = self.add(name, f"https://www.{company_domain(name)}", created)
        self.link(account_id, contact_id, job_title or "", created)

    def add(self, name: str, url: str | None, created: datetime, owner: int = 1) -> int:
        account_id = len(self.accounts) + 1
        self.accounts[account_id] = {"name": name, "accountUrl": url, "owner": owner,
                                     "created": created, "updated": created}
        self.by_name[name.lower()] = account_id
        return account_id

    def link(self, account_id: int, contact_id: int, job_title: str,
             created: datetime) -> int:
        link_id = len(self.links) + 1
        self.links[link_id] = {"account": account_id, "contact": contact_id,
                               "jobTitle": job_title, "created": created, "updated": created}
        self.link_of[contact_id] = link_id
        return link_id

    def add_field(self, label: str, kind: str, *, default: str | None = None,
                  options: list[str] | None = None, visible: bool = True,
                  order: int | None = None) -> dict[str, Any]:
        field_id = len(self.fields) + 1
        now = self.clock()
        self.fields[field_id] = {"id": field_id, "label": label, "type": kind,
                                 "default": default, "options": options, "visible": visible,
                                 "order": field_id if order is None else order,
                                 "created": now, "updated": now}
        return self.fields[field_id]

    def set_value(self, account_id: int, field_id: int, value: Any) -> int:
        """Write the account's value of the field (creating it); the value's id."""
        now = self.clock()
        value_id = self.value_of.get((account_id, field_id))
        if value_id is None:
            value_id = len(self.values) + 1
            self.values[value_id] = {"account": account_id, "field": field_id,
                                     "created": now}
            self.value_of[(account_id, field_id)] = value_id
        self.values[value_id].update(value=as_text(value), updated=now)
        self.accounts[account_id]["updated"] = now
        return value_id

    def account_of(self, contact_id: int) -> int:
        """The contact's account, 0 for none."""
        link_id = self.link_of.get(contact_id)
        return self.links[link_id]["account"] if link_id is not None else 0

    def problem(self, field_id: Any, value: Any) -> str | None:
        """Why AC would refuse ``value`` for the field, or None."""
        field = self.fields.get(as_int(field_id) or 0)
        if field is None:
            return f"No custom field with id {field_id}"
        if field["type"] in ("number", "currency") and value not in ("", None):
            try:
                float(str(value))
            except ValueError:
                return f"{value!r} is not a number for field {field_id}"
        return None


class Holder(Protocol):
    """What the account routes read of an ActiveCampaign account (sandbox/
    activecampaign.py)."""

    accounts: AccountBook
    contacts: dict[int, dict[str, Any]]
    deals: list[dict[str, Any]]
    clock: Callable[[], datetime]


class AccountRoutes:
    """The account routes of the ActiveCampaign sandbox (mixed into its WSGI app, which
    authenticates and limits first)."""

    # GET /accounts ("list-all-accounts": ``search`` by name; ``count_deals`` "to compute
    # the contactCount and dealCount ... If set to false or omitted ... displayed as 0";
    # the list's example shows counts as strings and ``links`` to the account's notes,
    # field values and contacts). A deal counts for its contact's account.
    def list_accounts(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        needle = (request.args.get("search") or "").lower()
        rows = [i for i, a in sorted(book.accounts.items()) if needle in a["name"].lower()]
        counting = request.args.get("count_deals", "").lower() in ("true", "1")
        shown, meta = page(request, rows, default=20)
        contacts: Counter[int] = Counter()
        deals: Counter[int] = Counter()
        if counting:  # one pass over the associations and the deals, not one per account
            contacts.update(link["account"] for link in book.links.values())
            deals.update(book.account_of(int(d["contact"])) for d in account.deals)
        base = f"{request.host_url}api/3"
        return answer({"accounts": [
            {**_account(book, i), "contactCount": str(contacts[i]), "dealCount": str(deals[i]),
             "links": {k: f"{base}/accounts/{i}/{k}"
                       for k in ("notes", "accountCustomFieldData", "accountContacts")}}
            for i in shown], "meta": meta})

    # GET /accounts/{id} ("retrieve-an-account"; its 404 is not documented: AC's usual
    # {"message": "No Result found for ..."})
    def get_account(self, request: Request, account: Holder, account_id: int) -> Response:
        if account_id not in account.accounts.accounts:
            return no_result("Account", account_id)
        return answer({"account": {**_account(account.accounts, account_id), "links": []}})

    # PUT /accounts/{id} ("update-an-account-new": name, accountUrl, owner, and ``fields``
    # of {customFieldId, fieldValue}; the 200 answers them with the account's id)
    def update_account(self, request: Request, account: Holder, account_id: int) -> Response:
        book = account.accounts
        if account_id not in book.accounts:
            return no_result("Account", account_id)
        body = object_body(request, "account")
        name = body.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                return _missing("The account name was not provided.", "name")
            other = book.by_name.get(name.lower())
            if other not in (None, account_id):
                return _duplicate(name)
        fields = body.get("fields") or []
        if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
            raise Invalid("account.fields must be a list of objects")
        for item in fields:
            problem = book.problem(item.get("customFieldId"), item.get("fieldValue"))
            if problem:
                return errors(422, problem, "", "field_invalid")
        record = book.accounts[account_id]
        if name is not None:
            del book.by_name[record["name"].lower()]
            record["name"] = name
            book.by_name[name.lower()] = account_id
        if body.get("accountUrl") is not None:
            record["accountUrl"] = str(body["accountUrl"])
        if body.get("owner") is not None:
            record["owner"] = int(body["owner"])
        for item in fields:
            book.set_value(account_id, int(item["customFieldId"]), item.get("fieldValue"))
        record["updated"] = account.clock()
        written = [{"customFieldId": int(f["customFieldId"]),
                    "fieldValue": as_text(f.get("fieldValue")), "accountId": str(account_id)}
                   for f in fields]
        return answer({"account": {**_account(book, account_id), "links": [],
                                   "fields": written}})

    # GET /accountContacts ("list-all-associations-1": filters[contact], filters[account])
    def list_account_contacts(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        by_contact = as_int(request.args.get("filters[contact]"))
        by_account = as_int(request.args.get("filters[account]"))
        rows = [i for i, link in sorted(book.links.items())
                if (by_contact is None or link["contact"] == by_contact)
                and (by_account is None or link["account"] == by_account)]
        return listing(request, "accountContacts", rows, lambda i, base: _link(book, i, base))

    # GET /accountContacts/{id} ("retrieve-an-association"; 404 "No Result found for
    # CustomerAccountSubscriber with id 100")
    def get_account_contact(self, request: Request, account: Holder, link_id: int) -> Response:
        if link_id not in account.accounts.links:
            return no_result("CustomerAccountSubscriber", link_id)
        return answer({"accountContact": _link(account.accounts, link_id,
                                               f"{request.host_url}api/3")})

    # GET /contacts/{id}/accountContacts ("retrieve-contact-account-contacts")
    def contact_account_contacts(self, request: Request, account: Holder,
                                 cid: int) -> Response:
        if cid not in account.contacts:
            return no_result("Subscriber", cid)
        link_id = account.accounts.link_of.get(cid)
        rows = [] if link_id is None else [_link(account.accounts, link_id,
                                                 f"{request.host_url}api/3")]
        return answer({"accountContacts": rows})

    # POST /accountContacts ("create-an-account-1": account and contact required; 201
    # with them as integers; 422 "This contact is already associated with an account")
    def create_account_contact(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        body = object_body(request, "accountContact")
        account_id, cid = as_int(body.get("account")), as_int(body.get("contact"))
        if account_id is None:
            return _missing("The account attribute was not provided", "account")
        if cid is None:
            return _missing("The contact attribute was not provided", "contact")
        if account_id not in book.accounts:
            return no_result("Account", account_id)
        if cid not in account.contacts:
            return no_result("Subscriber", cid)
        if cid in book.link_of:
            return answer({"errors": [{
                "title": "This contact is already associated with an account. We currently "
                         "do not support contacts on multiple accounts.",
                "detail": "", "code": "field_invalid",
                "source": {"pointer": "/data/attributes/account,contact"}}]}, 422)
        job = body.get("jobTitle")
        link_id = book.link(account_id, cid, job if isinstance(job, str) else "",
                            account.clock())
        view = _link(book, link_id, f"{request.host_url}api/3")
        return answer({"accountContact": {**view, "account": account_id, "contact": cid}},
                      201)


# -- views and checks -----------------------------------------------------------------------
def listing(request: Request, key: str, ids: list[int],
             view: Callable[[int, str], dict[str, Any]], default: int = 20) -> Response:
    """One page of a list route: the rows of ``ids`` on it, under ``key``, and the meta."""
    shown, meta = page(request, ids, default=default)
    base = f"{request.host_url}api/3"
    return answer({key: [view(i, base) for i in shown], "meta": meta})


def _account(book: AccountBook, account_id: int) -> dict[str, Any]:
    record = book.accounts[account_id]
    return {"name": record["name"], "accountUrl": record["accountUrl"],
            "createdTimestamp": local(record["created"]),
            "updatedTimestamp": local(record["updated"]), "id": str(account_id)}


def _link(book: AccountBook, link_id: int, base: str) -> dict[str, Any]:
    """An accountContact as the spec's GET answers show it (ids as strings)."""
    link = book.links[link_id]
    return {"account": str(link["account"]), "contact": str(link["contact"]),
            "jobTitle": link["jobTitle"], "createdTimestamp": local(link["created"]),
            "updatedTimestamp": local(link["updated"]),
            "links": {"account": f"{base}/accountContacts/{link_id}/account",
                      "contact": f"{base}/accountContacts/{link_id}/contact"},
            "id": str(link_id)}


def as_text(value: Any) -> str:
    """A field value as AC keeps it: a string; several options as "||a||b||"."""
    if isinstance(value, list):
        return "||" + "||".join(str(v) for v in value) + "||"
    return "" if value is None else str(value)


def as_int(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except ValueError:
        return None


def no_result(model: str, key: Any) -> Response:
    return answer({"message": f"No Result found for {model} with id {key}"}, 404)


def _missing(title: str, attribute: str) -> Response:
    return answer({"errors": [{"title": title, "detail": "", "code": "field_missing",
                               "source": {"pointer": f"/data/attributes/{attribute}"}}]}, 422)


def _duplicate(name: str) -> Response:
    return answer({"errors": [{
        "title": f"An account named \"{name}\" already exists. Please choose a new name.",
        "detail": "", "code": "duplicate", "source": {"pointer": "/data/attributes/name"}}]},
        422)

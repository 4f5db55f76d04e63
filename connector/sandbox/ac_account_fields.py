"""Account custom fields in the loopback ActiveCampaign (API v3): their meta
(``/accountCustomFieldMeta``) and each account's values (``/accountCustomFieldData``), in
the shapes of the shipped OpenAPI document ("the spec", as in ac_accounts.py, which keeps
the accounts, their fields and values in its ``AccountBook``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.sandbox.ac_accounts import AccountBook, Holder, as_int, as_text, listing, no_result
from connector.sandbox.ac_http import TZ, Invalid, answer, errors, object_body

# "Possible values are: text, textarea, date, datetime, dropdown, multiselect, radio,
# checkbox, hidden, currency, or number" (the spec, POST /accountCustomFieldMeta): unlike a
# contact's custom fields, an account's can be a number
FIELD_TYPES = ("text", "textarea", "date", "datetime", "dropdown", "multiselect", "radio",
               "checkbox", "hidden", "currency", "number")
NOT_FOUND = {"errors": [{"status": 404, "title": "Not Found"}]}  # the spec's field 404s
RULES = [
    ("/accountCustomFieldMeta", "list_account_fields", ["GET"]),
    ("/accountCustomFieldMeta", "create_account_field", ["POST"]),
    ("/accountCustomFieldMeta/<int:field_id>", "get_account_field", ["GET"]),
    ("/accountCustomFieldData", "list_account_values", ["GET"]),
    ("/accountCustomFieldData", "create_account_value", ["POST"]),
    ("/accountCustomFieldData/bulkCreate", "bulk_create_account_values", ["POST"]),
    ("/accountCustomFieldData/bulkUpdate", "bulk_update_account_values", ["PATCH"]),
    ("/accountCustomFieldData/<int:value_id>", "get_account_value", ["GET"]),
    ("/accountCustomFieldData/<int:value_id>", "update_account_value", ["PUT"]),
]


def stamp(dt: datetime) -> str:
    """The custom field routes' timestamps: "2018-11-06 02:26:07", the account's time."""
    return dt.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


class AccountFieldRoutes:
    """The account field routes of the ActiveCampaign sandbox (mixed into its WSGI app,
    which authenticates and limits first)."""

    # GET /accountCustomFieldMeta ("list-all-custom-fields-meta", limit default 100)
    def list_account_fields(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        return listing(request, "accountCustomFieldMeta", sorted(book.fields),
                        lambda i, base: _field(book, i, base, listed=True), default=100)

    # GET /accountCustomFieldMeta/{id} ("retrieve-a-custom-field-meta"; 404 as NOT_FOUND)
    def get_account_field(self, request: Request, account: Holder, field_id: int) -> Response:
        book = account.accounts
        return _one(request, "accountCustomFieldMetum", field_id in book.fields,
                    lambda base: _field(book, field_id, base))

    # POST /accountCustomFieldMeta ("create-a-customfieldmeta": fieldLabel and fieldType
    # required, under "accountCustomFieldMetum"; answered 200, not 201)
    def create_account_field(self, request: Request, account: Holder) -> Response:
        body = object_body(request, "accountCustomFieldMetum")
        label, kind = body.get("fieldLabel"), body.get("fieldType")
        if not isinstance(label, str) or not label.strip():
            return errors(422, "The field label field is required.", "", "field_missing")
        if kind not in FIELD_TYPES:
            return errors(422, "The field type field is required.",
                          f"one of {', '.join(FIELD_TYPES)}", "field_invalid")
        options = body.get("fieldOptions")
        default = body.get("fieldDefault")
        field = account.accounts.add_field(
            label, kind, default=None if default is None else as_text(default),
            options=[str(o) for o in options] if isinstance(options, list) else None,
            visible=bool(body.get("isFormVisible", True)),
            order=as_int(body.get("displayOrder")))
        return answer({"accountCustomFieldMetum": _field(account.accounts, field["id"],
                                                         f"{request.host_url}api/3")})

    # GET /accountCustomFieldData ("list-all-custom-field-values-2":
    # filters[customerAccountId], "note that Id uses a capital I")
    def list_account_values(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        of = as_int(request.args.get("filters[customerAccountId]"))
        rows = [i for i, v in sorted(book.values.items()) if of is None or v["account"] == of]
        return listing(request, "accountCustomFieldData", rows,
                        lambda i, base: _value(book, i, base))

    def get_account_value(self, request: Request, account: Holder, value_id: int) -> Response:
        book = account.accounts
        return _one(request, "accountCustomFieldDatum", value_id in book.values,
                    lambda base: _value(book, value_id, base))

    # POST /accountCustomFieldData ("create-a-custom-field-value": customerAccountId (the
    # spec's first example says accountId: both are read), customFieldId, fieldValue;
    # answered 200). A second value of one field for one account is refused (unverified:
    # the spec does not say; PUT /accountCustomFieldData/{id} and bulkUpdate change one)
    def create_account_value(self, request: Request, account: Holder) -> Response:
        item = object_body(request, "accountCustomFieldDatum")
        refused = _refused_value(account.accounts, item)
        if refused is not None:
            return refused
        value_id = account.accounts.set_value(_account_named(item) or 0,
                                              int(item["customFieldId"]), item["fieldValue"])
        return answer({"accountCustomFieldDatum": _value(account.accounts, value_id,
                                                         f"{request.host_url}api/3")})

    # PUT /accountCustomFieldData/{id} ("update-a-custom-field-value": fieldValue)
    def update_account_value(self, request: Request, account: Holder,
                             value_id: int) -> Response:
        book = account.accounts
        if value_id not in book.values:
            return answer(NOT_FOUND, 404)
        item = object_body(request, "accountCustomFieldDatum")
        row = book.values[value_id]
        if "fieldValue" in item:
            problem = book.problem(row["field"], item["fieldValue"])
            if problem:
                return errors(422, problem, "", "field_invalid")
            book.set_value(row["account"], row["field"], item["fieldValue"])
        return answer({"accountCustomFieldDatum": _value(book, value_id,
                                                         f"{request.host_url}api/3")})

    # PATCH /accountCustomFieldData/bulkUpdate ("bulk-update-a-custom-account-field-value":
    # the request example is a JSON list of {id, fieldValue}; the generated schema's object
    # with an "array" key misreads it). All or nothing here: an unknown id or a bad value
    # refuses the call (unverified: the spec documents only the 200).
    def bulk_update_account_values(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        items = _list_body(request)
        for item in items:
            value_id = as_int(item.get("id"))
            if value_id not in book.values:
                return errors(422, f"No custom field value with id {item.get('id')}", "",
                              "field_invalid")
            problem = book.problem(book.values[value_id]["field"], item.get("fieldValue"))
            if problem or "fieldValue" not in item:
                return errors(422, problem or "fieldValue is required", "", "field_invalid")
        for item in items:
            row = book.values[int(item["id"])]
            book.set_value(row["account"], row["field"], item["fieldValue"])
        ids = ", ".join(str(int(item["id"])) for item in items)
        return answer({"message": f"AccountCustomFieldDatas with ID(s): {ids} successfully "
                                  "bulk updated."})

    # POST /accountCustomFieldData/bulkCreate ("bulk-create-a-custom-account-field-value":
    # a JSON list of {customerAccountId or accountId, customFieldId, fieldValue}; all or
    # nothing here, as bulkUpdate)
    def bulk_create_account_values(self, request: Request, account: Holder) -> Response:
        book = account.accounts
        items = _list_body(request)
        for item in items:
            refused = _refused_value(book, item)
            if refused is not None:
                return refused
        for item in items:
            book.set_value(_account_named(item) or 0, int(item["customFieldId"]),
                           item["fieldValue"])
        return answer({"message": "the bulk insert was successful"})


# -- views and checks -----------------------------------------------------------------------
def _one(request: Request, key: str, found: bool,
         view: Callable[[str], dict[str, Any]]) -> Response:
    """A field or value read by id: the spec's 404 ``NOT_FOUND`` when there is none."""
    if not found:
        return answer(NOT_FOUND, 404)
    return answer({key: view(f"{request.host_url}api/3")})

def _field(book: AccountBook, field_id: int, base: str, listed: bool = False) -> dict[str, Any]:
    """An accountCustomFieldMetum. ``fieldDefault`` is a string in the spec's POST and GET
    answers but an integer in its list's example and schema: the list shows a default
    only when it reads as that integer, the others show it as a string; no default, no
    key (the spec has no null for it)."""
    field = book.fields[field_id]
    out: dict[str, Any] = {
        "id": str(field_id), "fieldLabel": field["label"], "fieldType": field["type"],
        "fieldOptions": field["options"], "isFormVisible": int(field["visible"]),
        "isRequired": 0, "displayOrder": field["order"],
        "createdTimestamp": stamp(field["created"]), "updatedTimestamp": stamp(field["updated"]),
        "links": {"accountCustomFieldData":
                  f"{base}/accountCustomFieldMeta/{field_id}/accountCustomFieldData"}}
    default = field["default"]
    if listed:
        out.update(fieldDefaultCurrency=None, personalization="", knownFieldId=None,
                   hideFieldFlag=0)
        if default is not None and default.lstrip("-").isdigit():
            out["fieldDefault"] = int(default)
    elif default is not None:
        out["fieldDefault"] = default
    return out


def _value(book: AccountBook, value_id: int, base: str) -> dict[str, Any]:
    row = book.values[value_id]
    return {"id": str(value_id), "accountCustomFieldMetumId": row["field"],
            "accountId": row["account"], "customFieldId": row["field"],
            "createdTimestamp": stamp(row["created"]), "updatedTimestamp": stamp(row["updated"]),
            "fieldValue": row["value"],
            "links": {"account": f"{base}/accountCustomFieldData/{value_id}/account",
                      "accountCustomFieldMetum":
                      f"{base}/accountCustomFieldData/{value_id}/accountCustomFieldMetum"}}


def _refused_value(book: AccountBook, item: dict[str, Any]) -> Response | None:
    """The answer refusing a new field value, or None to write it."""
    account_id = _account_named(item)
    for key, present in (("customerAccountId", account_id is not None),
                         ("customFieldId", as_int(item.get("customFieldId")) is not None),
                         ("fieldValue", item.get("fieldValue") is not None)):
        if not present:
            return errors(422, f"The {key} attribute was not provided", "", "field_missing")
    if account_id not in book.accounts:
        return no_result("Account", account_id)
    problem = book.problem(item["customFieldId"], item["fieldValue"])
    if problem:
        return errors(422, problem, "", "field_invalid")
    if (account_id, int(item["customFieldId"])) in book.value_of:
        return errors(422, "This account already has a value for this field", "",
                      "duplicate")
    return None


def _account_named(item: dict[str, Any]) -> int | None:
    """The account a field value names: ``customerAccountId``, or ``accountId`` as one of
    the spec's examples spells it."""
    return as_int(item.get("customerAccountId", item.get("accountId")))


def _list_body(request: Request) -> list[dict[str, Any]]:
    body = request.get_json(silent=True)
    if not isinstance(body, list) or not all(isinstance(i, dict) for i in body):
        raise Invalid("the body must be a JSON list of objects")
    return body

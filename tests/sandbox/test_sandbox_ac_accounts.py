"""The ActiveCampaign sandbox's accounts, account custom fields and account-contact
associations, read and written with requests as the shipped OpenAPI document
(../shared/specs/activecampaign-v3.openapi.json) shapes them; seeded from the
population, each contact on the account its ``company`` field names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from connector.models import Contact
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "ac-accounts"



@pytest.fixture(scope="module")
def ac(company_population: Population) -> Iterator[tuple[str, requests.Session, ACAccount]]:
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("accounts", company_population,
                                               requests_per_second=10_000))
    account.add_contact(Contact(id="500", email="solo@free.example", fields={}))  # no company
    with Server(app) as server, requests.Session() as session:
        session.headers["Api-Token"] = TOKEN
        yield f"{server.url}/api/3", session, account


def _every(session: requests.Session, url: str, key: str, **params) -> tuple[list, int]:
    """Every row of a list, 7 at a time by offset; and the pages it took."""
    rows, offset, pages = [], 0, 0
    while True:
        body = session.get(url, params={**params, "limit": 7, "offset": offset}).json()
        assert isinstance(body["meta"]["total"], str)  # a string, as on /contacts
        rows.extend(body[key])
        pages += 1
        offset += 7
        if offset >= int(body["meta"]["total"]):
            return rows, pages


def test_accounts_page_by_offset_one_per_company_with_their_contacts(ac, colleagues,
                                                                     company_population):
    url, session, _ = ac
    accounts, pages = _every(session, f"{url}/accounts", "accounts", count_deals="true")
    assert pages > 1
    assert sorted(a["name"] for a in accounts) == sorted(colleagues)
    # a contact with a salesperson or a won deal has a deal (the sandbox's seeding)
    with_deal = {p.contact.id for p in company_population
                 if p.contact.owner_id or p.contact.is_customer}
    for item in accounts:
        members = colleagues[item["name"]]
        assert item["contactCount"] == str(len(members))
        assert item["dealCount"] == str(len(with_deal.intersection(members)))
        assert item["accountUrl"].startswith("https://www.")
    plain = session.get(f"{url}/accounts", params={"limit": 1}).json()["accounts"][0]
    assert plain["contactCount"] == "0"  # counted only with count_deals
    one = session.get(f"{url}/accounts/{accounts[0]['id']}").json()["account"]
    assert one["name"] == accounts[0]["name"]
    assert session.get(f"{url}/accounts/9999").status_code == 404


def test_account_contacts_list_each_contact_once_on_its_account(ac, colleagues, company_population):
    url, session, _ = ac
    by_name = {a["name"]: a["id"] for a in _every(session, f"{url}/accounts", "accounts")[0]}
    links, pages = _every(session, f"{url}/accountContacts", "accountContacts")
    assert pages > 1
    assert sorted((link["contact"] for link in links), key=int) == [
        p.contact.id for p in company_population]
    name, members = max(colleagues.items(), key=lambda item: len(item[1]))
    of_account = session.get(f"{url}/accountContacts",
                             params={"filters[account]": by_name[name]}).json()
    assert sorted((link["contact"] for link in of_account["accountContacts"]), key=int) == \
        members
    person = company_population.person(int(members[0]) - 1)
    mine = session.get(f"{url}/contacts/{members[0]}/accountContacts").json()
    (link,) = mine["accountContacts"]
    assert (link["account"], link["jobTitle"]) == (by_name[name],
                                                   person.contact.fields["job_title"])
    again = session.get(f"{url}/accountContacts/{link['id']}").json()["accountContact"]
    assert again["contact"] == members[0]
    assert session.get(f"{url}/contacts/500/accountContacts").json() == {
        "accountContacts": []}


def test_a_contact_joins_one_account_only(ac):
    url, session, _ = ac
    made = session.post(f"{url}/accountContacts", json={"accountContact": {
        "account": 1, "contact": 500, "jobTitle": "Founder"}})
    assert made.status_code == 201
    assert made.json()["accountContact"]["contact"] == 500  # an integer in the 201
    twice = session.post(f"{url}/accountContacts", json={"accountContact": {
        "account": 2, "contact": 500}})
    assert twice.status_code == 422
    assert "multiple accounts" in twice.json()["errors"][0]["title"]
    missing = session.post(f"{url}/accountContacts", json={"accountContact": {"contact": 1}})
    assert missing.status_code == 422


def test_a_company_score_field_is_created_written_and_read_back(ac):
    url, session, account = ac
    field = session.post(f"{url}/accountCustomFieldMeta", json={"accountCustomFieldMetum": {
        "fieldLabel": "Company score", "fieldType": "number"}})
    assert field.status_code == 200  # the spec's answer: 200, not 201
    field_id = int(field.json()["accountCustomFieldMetum"]["id"])
    listed = session.get(f"{url}/accountCustomFieldMeta").json()["accountCustomFieldMeta"]
    assert [f["fieldLabel"] for f in listed if int(f["id"]) == field_id] == ["Company score"]
    first = session.post(f"{url}/accountCustomFieldData", json={"accountCustomFieldDatum": {
        "customerAccountId": 1, "customFieldId": field_id, "fieldValue": "42"}})
    assert first.status_code == 200
    value_id = first.json()["accountCustomFieldDatum"]["id"]
    assert session.post(f"{url}/accountCustomFieldData", json={"accountCustomFieldDatum": {
        "customerAccountId": 1, "customFieldId": field_id, "fieldValue": "43"}}
    ).status_code == 422  # one value per account and field: change it instead
    assert session.post(f"{url}/accountCustomFieldData/bulkCreate", json=[
        {"customerAccountId": 2, "customFieldId": field_id, "fieldValue": "7"},
        {"accountId": 3, "customFieldId": field_id, "fieldValue": "8"}]).status_code == 200
    bulk = session.patch(f"{url}/accountCustomFieldData/bulkUpdate", json=[
        {"id": value_id, "fieldValue": "50"}])
    assert bulk.status_code == 200 and "successfully bulk updated" in bulk.json()["message"]
    assert session.patch(f"{url}/accountCustomFieldData/bulkUpdate", json=[
        {"id": value_id, "fieldValue": "high"}]).status_code == 422  # not a number
    put = session.put(f"{url}/accounts/4", json={"account": {"fields": [
        {"customFieldId": field_id, "fieldValue": "9"}]}})
    assert put.json()["account"]["fields"] == [
        {"customFieldId": field_id, "fieldValue": "9", "accountId": "4"}]
    values = {}
    for account_id in (1, 2, 3, 4):
        rows = session.get(f"{url}/accountCustomFieldData", params={
            "filters[customerAccountId]": account_id}).json()["accountCustomFieldData"]
        values[account_id] = [r["fieldValue"] for r in rows if r["customFieldId"] == field_id]
    assert values == {1: ["50"], 2: ["7"], 3: ["8"], 4: ["9"]}
    single = session.put(f"{url}/accountCustomFieldData/{value_id}", json={
        "accountCustomFieldDatum": {"fieldValue": "51"}})
    assert single.json()["accountCustomFieldDatum"]["fieldValue"] == "51"
    assert account.accounts.values[int(value_id)]["value"] == "51"


def test_accounts_need_the_token_and_keep_the_rate_limit():
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("r", Population(5), requests_per_second=2,
                                     clock=FakeClock(datetime(2026, 11, 2, tzinfo=UTC))))
    with Server(app) as server, requests.Session() as session:
        refused = session.get(f"{server.url}/api/3/accounts", headers={"Api-Token": "bad"})
        statuses = [session.get(f"{server.url}/api/3/accounts", headers={"Api-Token": TOKEN})
                    for _ in range(3)]
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert statuses[-1].headers["Retry-After"]

"""The HubSpot sandbox's companies, company properties and contact<->company associations,
read and written with the real SDK (hubspot-api-client): CRM v3 companies, the v4
associations API, the properties API for companies; seeded from the population, each
contact with the company its ``company`` field names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsError
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)
from hubspot.crm.companies.exceptions import ApiException as CompaniesError
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesError

from connector.sandbox.hubspot import DEFAULT_SCOPES, HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "pat-companies"



@pytest.fixture(scope="module")
def portal(company_population: Population) -> Iterator[tuple[HubSpot, str, HubSpotAccount]]:
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount(
        "companies", company_population, ten_second_limit=10_000, search_per_second=10_000))
    with Server(app) as server:
        yield HubSpot(access_token=TOKEN, host=server.url), server.url, account


def _all_companies(client: HubSpot, **kwargs) -> tuple[list, int]:
    """Every company, page by page (``after``); and how many pages it took."""
    found, after, pages = [], None, 0
    while True:
        page = client.crm.companies.basic_api.get_page(limit=7, after=after, **kwargs)
        found.extend(page.results)
        pages += 1
        if page.paging is None:
            return found, pages
        after = page.paging.next.after


def test_the_sdk_pages_through_one_company_per_company_name_with_its_contacts(portal, colleagues):
    client, _, _ = portal
    companies, pages = _all_companies(client, properties=["name", "num_associated_contacts"],
                                      associations=["contacts"])
    assert pages > 1  # past the first page
    assert sorted(c.properties["name"] for c in companies) == sorted(colleagues)
    for company in companies:
        members = colleagues[company.properties["name"]]
        assert company.properties["num_associated_contacts"] == str(len(members))
        linked = company.associations["contacts"].results
        assert sorted({a.id for a in linked}, key=int) == members
        assert {a.type for a in linked} == {"company_to_contact",
                                           "company_to_contact_unlabeled"}


def test_a_contact_read_with_associations_names_its_company(portal):
    client, _, _ = portal
    by_name = {c.properties["name"]: c.id for c in _all_companies(client)[0]}
    page = client.crm.contacts.basic_api.get_page(limit=20, properties=["company"],
                                                  associations=["companies"])
    for contact in page.results:
        ids = {a.id for a in contact.associations["companies"].results}
        assert ids == {by_name[contact.properties["company"]]}
    one = client.crm.contacts.basic_api.get_by_id("3", associations=["companies"])
    assert one.associations["companies"].results[0].type == "contact_to_company"
    assert client.crm.contacts.basic_api.get_by_id("3").associations is None  # not asked


def test_v4_associations_both_ways_with_hubspots_type_ids_and_paging(portal, colleagues):
    client, _, _ = portal
    name, members = max(colleagues.items(), key=lambda item: len(item[1]))
    assert len(members) >= 2
    found = client.crm.associations.v4.basic_api.get_page("contacts", members[0], "companies")
    (link,) = found.results
    assert sorted(t.type_id for t in link.association_types) == [1, 279]
    assert [t.label for t in link.association_types if t.type_id == 279] == [None]
    company_id = link.to_object_id
    assert client.crm.companies.basic_api.get_by_id(company_id).properties["name"] == name
    seen, after = [], None
    while True:  # one contact a page: every page past the first
        page = client.crm.associations.v4.basic_api.get_page("companies", company_id,
                                                             "contacts", limit=1, after=after)
        seen.extend(r.to_object_id for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == members
    assert {t.type_id for t in page.results[0].association_types} == {2, 280}


def test_v4_batch_read_is_a_207_for_an_object_without_associations(portal):
    client, url, _ = portal
    inputs = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": "1"}, {"id": "999"}])
    answer = client.crm.associations.v4.batch_api.get_page("contacts", "companies", inputs)
    assert [r._from.id for r in answer.results] == ["1"]
    assert answer.num_errors == 1
    assert answer.errors[0].context["fromObjectId"] == ["999"]
    raw = requests.post(f"{url}/crm/v4/associations/contacts/companies/batch/read",
                        json={"inputs": [{"id": "999"}]},
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert raw.status_code == 207
    assert raw.json()["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    with pytest.raises(AssociationsError) as refused:
        client.crm.associations.v4.basic_api.get_page("contacts", "1", "deals")
    assert refused.value.status == 403  # deals: no scope


def test_a_company_score_property_is_created_written_in_a_batch_and_read_back(portal):
    client, _, account = portal
    group = client.crm.properties.groups_api.create(
        "companies", PropertyGroupCreate(name="connector", label="Connector"))
    assert group.name == "connector"
    created = client.crm.properties.core_api.create("companies", PropertyCreate(
        name="connector_company_score", label="Company score", type="number",
        field_type="number", group_name="connector"))
    assert created.name == "connector_company_score"
    names = {p.name for p in client.crm.properties.core_api.get_all("companies").results}
    assert {"name", "domain", "connector_company_score"} <= names
    assert "connector_company_score" not in {
        p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    with pytest.raises(PropertiesError) as again:
        client.crm.properties.core_api.create("companies", PropertyCreate(
            name="connector_company_score", label="x", type="number", field_type="number",
            group_name="connector"))
    assert again.value.status == 409
    first, second = sorted(account.companies.records)[:2]
    written = client.crm.companies.batch_api.update(BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": first, "properties": {"connector_company_score": "42"}},
                {"id": second, "properties": {"connector_company_score": "7.5"}}]))
    assert {r.id: r.properties["connector_company_score"] for r in written.results} == {
        first: "42", second: "7.5"}
    back = client.crm.companies.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[{"id": first}, {"id": second}], properties=["connector_company_score"],
        properties_with_history=[]))
    assert {r.id: r.properties["connector_company_score"] for r in back.results} == {
        first: "42", second: "7.5"}
    with pytest.raises(CompaniesError) as bad:  # not a number: the whole batch refused
        client.crm.companies.batch_api.update(BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": first, "properties": {"connector_company_score": "high"}}]))
    assert bad.value.status == 400
    assert account.companies.values(first)["connector_company_score"] == "42"


def test_batch_update_with_an_unknown_company_is_a_207_that_writes_the_others(portal):
    _, url, account = portal
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    known = sorted(account.companies.records)[-1]
    answer = session.post(f"{url}/crm/v3/objects/companies/batch/update", json={"inputs": [
        {"id": known, "properties": {"domain": "moved.example.com"}},
        {"id": "1", "properties": {"domain": "x.example.com"}}]})
    assert answer.status_code == 207
    assert answer.json()["errors"][0]["context"]["ids"] == ["1"]
    assert account.companies.values(known)["domain"] == "moved.example.com"


def test_search_companies_by_name(portal, colleagues):
    client, _, _ = portal
    name = sorted(colleagues)[0]
    found = client.crm.companies.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "name", "operator": "EQ",
                                     "value": name}]}],
        properties=["name"], limit=10))
    assert found.total == 1 and found.results[0].properties["name"] == name


def test_without_the_companies_scopes_hubspot_answers_403_missing_scopes():
    app = HubSpotSandbox()
    app.add_account("t", HubSpotAccount("scopeless", Population(5), scopes=DEFAULT_SCOPES - {
        "crm.objects.companies.read", "crm.schemas.companies.read"}))
    with Server(app) as server, requests.Session() as session:
        session.headers["Authorization"] = "Bearer t"
        for path in ("/crm/v3/objects/companies", "/crm/v3/properties/companies"):
            answer = session.get(server.url + path)
            assert answer.status_code == 403, path
            assert answer.json()["category"] == "MISSING_SCOPES"
        assert session.get(f"{server.url}/crm/v3/properties/contacts").status_code == 200
        assert session.get(f"{server.url}/crm/v3/objects/companies",
                           headers={"Authorization": "Bearer other"}).status_code == 401


def test_company_reads_count_in_the_ten_second_window_and_batch_association_reads_do_not():
    app = HubSpotSandbox()
    app.add_account("t", HubSpotAccount("rl", Population(3), ten_second_limit=3))
    with Server(app) as server, requests.Session() as session:
        session.headers["Authorization"] = "Bearer t"
        statuses = [session.get(f"{server.url}/crm/v3/objects/companies").status_code
                    for _ in range(4)]
        batch = session.post(f"{server.url}/crm/v4/associations/contacts/companies/batch/read",
                             json={"inputs": [{"id": "1"}]})
    assert statuses == [200, 200, 200, 429]
    # "x-hubspot-rate-limit-exemptions": ["ten-secondly"] (the v4 associations document)
    assert batch.status_code == 200 and "X-HubSpot-RateLimit-Max" not in batch.headers

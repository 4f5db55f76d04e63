"""One paging loop for server-named cursors: every page once, and a repeated cursor stops."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from connector.crm.hubspot import HubSpotCRM
from connector.crm.paging import pages
from connector.errors import NetworkError
from connector.models import Contact


def _fetcher(cursors: dict[str | None, str | None], asked: list[str | None]):
    def fetch(cursor: str | None) -> dict:
        asked.append(cursor)
        return {"rows": [cursor or "first"], "next": cursors[cursor]}
    return fetch


def test_pages_follow_the_cursors_to_the_last_page():
    asked: list[str | None] = []
    fetch = _fetcher({None: "b", "b": "c", "c": None}, asked)
    got = [p["rows"][0] for p in pages(fetch, lambda p: p["next"], crm="hubspot", client="x",
                                       endpoint="GET /things")]
    assert got == ["first", "b", "c"] and asked == [None, "b", "c"]


def test_a_repeated_cursor_stops_with_an_error_naming_the_endpoint():
    asked: list[str | None] = []
    fetch = _fetcher({None: "b", "b": "c", "c": "b"}, asked)  # the server loops back
    got = []
    with pytest.raises(NetworkError, match="cursor 'b' repeated") as err:
        for page in pages(fetch, lambda p: p["next"], crm="hubspot", client="x",
                          endpoint="GET /things"):
            got.append(page["rows"][0])
    assert err.value.endpoint == "GET /things"
    assert got == ["first", "b", "c"] and asked == [None, "b", "c"]


class _Owners:
    """An owners API whose second page names the first page's cursor again."""

    def __init__(self) -> None:
        self.calls = 0

    def get_page(self, limit: int, after: str | None = None):
        self.calls += 1
        owner = SimpleNamespace(id=self.calls, first_name="A", last_name=str(self.calls),
                                email=f"a{self.calls}@x.dk")
        return SimpleNamespace(results=[owner], paging=SimpleNamespace(
            next=SimpleNamespace(after="p2")))


def test_hubspot_owners_that_page_in_a_loop_fail_the_lookup_instead_of_truncating():
    crm = HubSpotCRM("acme", "tok", "http://127.0.0.1:9")
    api = _Owners()
    crm._apis["owners"] = api  # the SDK's owners_api, as the adapter caches it
    with pytest.raises(NetworkError, match="repeated"):
        crm.get_owner(Contact(id="1", email="c@x.dk", owner_id="2"))
    assert api.calls == 2


class _LoopingContacts:
    """An ActiveCampaign contacts list that answers the first page to every id_greater, as
    a proxy that drops the query string would."""

    def __init__(self) -> None:
        self.calls = 0

    def get(self, path: str, **params):
        if path != "/contacts":
            return {}
        self.calls += 1
        rows = [{"id": str(i), "email": f"c{i}@x.dk"} for i in range(1, 101)]
        return {"contacts": rows, "fieldValues": [], "meta": {"total": "500"}}


def test_activecampaign_pull_that_pages_in_a_loop_stops_with_an_error():
    from datetime import UTC, datetime

    from connector.crm.activecampaign import ActiveCampaignCRM

    crm = ActiveCampaignCRM("nordic", "tok", "http://127.0.0.1:9")
    api = _LoopingContacts()
    crm.http = api  # the adapter's one HTTP layer
    with pytest.raises(NetworkError, match="repeated") as err:
        list(crm.iter_contacts(None, datetime(2026, 11, 2, tzinfo=UTC)))
    assert err.value.endpoint == "GET /contacts"
    assert api.calls == 2  # the first page, then the same cursor named again


class _LoopingTags:
    """An ActiveCampaign tags list that answers the first page to every offset, as a proxy
    that drops the query string would; with and without a total."""

    def __init__(self, total: str | None) -> None:
        self.calls, self.total = 0, total

    def get(self, path: str, **params):
        self.calls += 1
        rows = [{"id": str(i), "tag": f"t{i}"} for i in range(1, 101)]
        return {"tags": rows, **({"meta": {"total": self.total}} if self.total else {})}


@pytest.mark.parametrize("total", ["500", None])
def test_an_activecampaign_list_whose_offset_is_ignored_stops_with_an_error(total):
    from connector.crm.activecampaign import ActiveCampaignCRM

    crm = ActiveCampaignCRM("nordic", "tok", "http://127.0.0.1:9")
    api = _LoopingTags(total)
    crm.http = api  # the adapter's one HTTP layer
    with pytest.raises(NetworkError, match="repeats the page before") as err:
        crm.add_tag(Contact(id="1", email="c@x.dk"), "t150")  # would create a duplicate
    assert err.value.endpoint == "GET /tags"
    assert api.calls == 2

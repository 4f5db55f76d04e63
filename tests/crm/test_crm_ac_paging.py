"""ActiveCampaign's deals and activity stream are read before the first batch: their offset
pages are asked for a few at a time (the first page's ``meta.total`` names the rest), every
request under the one limiter, and what they give is what one page after the other gives,
in the same order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server

from .test_crm_concurrency import RATE, Latency, _activecampaign

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _account() -> ACSandbox:
    app = ACSandbox()
    account = app.add_account("ac-conc-token", ACAccount(
        "c", Population(30, seed=11, now=NOW), clock=FakeClock(NOW), requests_per_second=RATE))
    for i in range(430):  # five pages of deals: several per contact, some won
        cid = str(1 + i % 30)
        account.deals.append({"id": str(1000 + i), "contact": cid, "owner": str(i % 7 + 1),
                              "status": "1" if i % 11 == 0 else "0", "title": f"Deal {i}",
                              "value": "100", "currency": "eur",
                              "cdate": "2026-10-01T09:00:00-05:00",
                              "mdate": f"2026-10-{1 + i % 28:02d}T09:00:00-05:00"})
    for i in range(420):  # five pages of the activity stream since the bookmark
        account.add_event(Event(f"open-{i}", str(1 + i % 30), EventType.EMAIL_OPEN,
                                NOW - timedelta(minutes=i), email_id=f"nl-{i % 9}"))
    return app


def test_deals_and_the_activity_stream_are_paged_in_flight_with_the_same_result():
    wrapped = Latency(_account())
    got = {}
    with Server(wrapped) as server:
        for workers in (1, 4):
            crm = _activecampaign(server.url, workers)
            wrapped.most = 0
            # the incremental pull reads the stream, then the deals, then contact pages
            # (one after the other: only the paging of the first two can overlap)
            contacts = list(crm.iter_contacts(NOW - timedelta(hours=12), NOW))
            most = wrapped.most
            stream = crm.fetch_events(contacts, NOW - timedelta(days=1, hours=12))
            got[workers] = (
                most,
                [(c.id, c.owner_id, c.is_customer, c.customer_at) for c in contacts],
                {cid: sorted(ids) for cid, ids in (crm.engaged or {}).items()},
                {cid: [e.id for e in events if e.type != EventType.PAGE_VIEW]
                 for cid, events in stream.items()})
            crm.close()
    one, four = got[1], got[4]
    assert one[0] == 1
    assert four[0] > 1  # pages of deals / activities in flight together
    assert four[1:] == one[1:]  # the same contacts, owners, won deals and events, in order
    assert len(four[2]) == 30 and sum(len(v) for v in four[3].values()) >= 420


def test_a_long_stream_is_read_window_by_window_with_every_row_in_order(monkeypatch):
    """A 100,000-contact account's stream is 7,600 pages: it is turned into events a window
    of pages at a time (here 2), never held whole as raw rows, and nothing is lost or
    reordered at the windows' seams."""
    from connector.crm.activecampaign import session

    wrapped = Latency(_account())
    ledger = wrapped.app.ledger

    def asked() -> int:
        return sum(1 for e in ledger.entries if e.path.endswith("/activities"))

    with Server(wrapped) as server:
        crm = _activecampaign(server.url, 4)
        whole = [r["id"] for r in crm._paged("/activities", "activities", {})]
        before = asked()
        monkeypatch.setattr(session, "STREAM_WINDOW", 2)
        pages = crm._pages("/activities", "activities", {})
        first = next(pages)
        on_first = asked() - before  # handed on before the rest is asked for
        second = next(pages)
        on_second = asked() - before  # then a window of two pages
        rest = [r["id"] for page in pages for r in page]
        crm.close()
    assert len(whole) >= 420 and before == -(-len(whole) // 100)  # one call a page
    assert (on_first, on_second) == (1, 3)
    assert whole == [r["id"] for r in first + second] + rest

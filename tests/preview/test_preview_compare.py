"""The preview's pure part: stored state and events in, the lists a sync would act on out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.models import Event, EventType, Owner
from connector.preview.compare import preview
from connector.scoring import RulesModel, load_rules_text
from connector.store.base import StoredContact

from ..e2e.helpers import client_config

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
CURRENT = """\
version: 1
name: current
decay: null
rules:
  - {id: contact-page, description: Visited the contact page, event: page_view,
     url: "*/contact*", points: 20}
  - {id: guide, description: Downloaded a guide, event: download, points: 10}
"""
INTERNS = """\
  - {id: interns, description: Intern, field: job_title, equals: Intern, points: -100}
"""


def model(text: str) -> RulesModel:
    return load_rules_text(text)


def stored(cid: str, total: int, tier: str, *, warm: bool = False, owner: str | None = "101",
           title: str = "CMO") -> StoredContact:
    return StoredContact(
        client="acme", contact_id=cid, email=f"{cid}@example.com", score=total, tier=tier,
        warm=warm, at_floor=False, warm_episode=1 if warm else 0, next_change_at=None,
        explanation_digest=None, explanation=[], interests={}, activity_signature=None,
        last_scored_at=NOW - timedelta(hours=1), updated_at_crm=None, owner_id=owner,
        fields={"first_name": "Maja", "last_name": cid.title(), "job_title": title},
        total=total)


def visit(cid: str, kind: str = EventType.PAGE_VIEW, url: str = "https://x.dk/contact"):
    return Event(f"{cid}-{kind}", cid, kind, NOW - timedelta(days=1), url=url, name="guide")


PEOPLE = [
    (stored("visitor", 20, "semi-warm"), [visit("visitor")]),
    (stored("reader", 10, "semi-warm"), [visit("reader", EventType.DOWNLOAD)]),
    (stored("intern", 20, "semi-warm", owner=None, title="Intern"), [visit("intern")]),
    (stored("warm", 30, "warm", warm=True), [visit("warm", EventType.DOWNLOAD),
                                             visit("warm")]),
    # stored warm, but its page view is gone from state: cools with either model
    (stored("stale", 30, "warm", warm=True), [visit("stale", EventType.DOWNLOAD)]),
]
OWNERS = {"101": Owner("101", "Marcus Holm", "marcus@example-agency.com")}


def test_turning_warm_names_the_owner_the_scores_and_the_rules_that_moved_it():
    new = model(CURRENT.replace("points: 20}", "points: 30}").replace("name: current",
                                                                     "name: new"))
    client = client_config("acme", "hubspot", "http://127.0.0.1:9", 25)
    p = preview(PEOPLE, model(CURRENT), new, NOW, client, owners=OWNERS)
    assert p.contacts == 5 and p.warm_before == 1 and p.warm_after == 3
    by_id = {c.contact_id: c for c in p.turn_warm}
    assert set(by_id) == {"visitor", "intern"}  # "warm" already was
    visitor = by_id["visitor"]
    assert (visitor.name, visitor.owner, visitor.before, visitor.after) == (
        "Maja Visitor", "Marcus Holm", 20, 30)
    assert [str(m) for m in visitor.moved] == ["Visited the contact page +20 -> +30"]
    assert visitor.actions == ("invite", "notify") and not visitor.by_time
    assert by_id["intern"].owner == "Linnea Berg"  # no owner: the client's fallback
    assert p.hit_floor == []
    (stale,) = p.leave_warm
    assert stale.contact_id == "stale" and stale.by_time  # time, not the model change
    assert dict(p.histogram())["+10..+19"] == 3 and p.unchanged == 2


def test_a_moved_threshold_and_disabled_invites_are_shown_as_such():
    new = model(CURRENT.replace("version: 1", "version: 1\nwarm_at: 20"))
    client = client_config("acme", "hubspot", "http://127.0.0.1:9", 25,
                           invite={"enabled": False}, notify={"enabled": False})
    p = preview(PEOPLE, model(CURRENT), new, NOW, client, owners=OWNERS)
    assert {c.contact_id for c in p.turn_warm} == {"visitor", "intern"}
    for change in p.turn_warm:
        assert change.moved == () and change.threshold == "warm at 30 -> 20"
        assert change.actions == ()
    assert p.invites == [] and p.unchanged == 5


def test_the_floor_and_leaving_warm_come_from_the_stored_state():
    new = model(CURRENT.replace("points: 20}", "points: 10}") + INTERNS)
    client = client_config("acme", "hubspot", "http://127.0.0.1:9", 25)
    p = preview(PEOPLE, model(CURRENT), new, NOW, client, owners=OWNERS)
    assert [c.contact_id for c in p.leave_warm] == ["warm", "stale"]
    (intern,) = p.hit_floor
    assert intern.contact_id == "intern" and intern.actions == ("unsubscribe",)
    assert (intern.before, intern.after, intern.by_time) == (20, -30, False)
    assert [str(m) for m in intern.moved] == ["Intern +0 -> -100",
                                              "Visited the contact page +20 -> +10"]
    assert p.unsubscribes == [intern] and p.floor_before == 0 and p.floor_after == 1

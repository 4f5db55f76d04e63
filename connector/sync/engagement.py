"""Which contacts' engagement a batch reads from the CRM, and since when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from connector.models import Contact, Event
from connector.store.base import StoredContact
from connector.sync import own_writes
from connector.sync.context import RunContext


def fetch_events(ctx: RunContext, contacts: Sequence[Contact],
                 previous: Mapping[str, StoredContact], cached: Mapping[str, list[Event]],
                 whole: bool) -> dict[str, list[Event]]:
    """Fetch engagement only where it can have moved: new contacts and moved counters
    (``whole``: all of every contact's). Without counters, a contact whose only change is
    our own write costs nothing (``connector.sync.own_writes``)."""
    new, moved = _to_fetch(ctx, contacts, previous, cached, whole)
    fetched: dict[str, list[Event]] = {}
    if new:
        fetched.update(ctx.crm.fetch_events(new, None))
    if moved:
        since = _since_for(moved, previous, ctx.bookmark)
        fetched.update(ctx.crm.fetch_events(moved, since))
    ctx.report.counts["events_fetched_for"] += len(new) + len(moved)
    ctx.report.counts["events"] += sum(len(v) for v in fetched.values())
    return fetched


def _to_fetch(ctx: RunContext, contacts: Sequence[Contact],
              previous: Mapping[str, StoredContact], cached: Mapping[str, list[Event]],
              whole: bool) -> tuple[list[Contact], list[Contact]]:
    """The contacts whose engagement is read whole (new to state, or ``whole``) and those
    whose engagement moved since they were last scored."""
    new, moved = [], []
    engaged = ctx.crm.engaged
    # a CRM without the notion (counters on the contact) never takes this branch
    complete = bool(getattr(ctx.crm, "stream_complete", True))
    for contact in contacts:
        prev = previous.get(contact.id)
        if whole or prev is None:
            new.append(contact)
        elif contact.activity_signature is None:
            stored_ids = {e.id for e in cached.get(contact.id, [])}
            if own_writes.nothing_new(contact, prev, ctx.job.score_property.name,
                                      own_writes.news(contact, engaged, stored_ids),
                                      complete):
                ctx.report.counts["engagement_unchanged"] += 1
            else:
                moved.append(contact)
        elif contact.activity_signature != prev.activity_signature:
            moved.append(contact)
    return new, moved


def _since_for(contacts: Sequence[Contact], previous: Mapping[str, StoredContact],
               bookmark: datetime | None) -> datetime | None:
    """Events after the oldest of these contacts' last scoring, with a day of overlap for
    CRM clocks and late-arriving events (duplicates are merged by event id)."""
    times = [t for c in contacts if (t := previous[c.id].last_scored_at) is not None]
    if bookmark is not None:
        times.append(bookmark)
    if not times:
        return None
    return min(times) - timedelta(days=1)

"""Which contacts' engagement a batch reads from the CRM, and since when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from connector.models import Contact, Event
from connector.store.base import StoredContact
from connector.sync import own_writes
from connector.sync.job import SyncJob
from connector.sync.report import SyncReport


def fetch_events(job: SyncJob, report: SyncReport, contacts: Sequence[Contact],
                  previous: dict[str, StoredContact], bookmark: datetime | None,
                  full: bool, cached: dict[str, list[Event]] | None = None,
                  ) -> dict[str, list[Event]]:
    """Fetch engagement only where it can have moved: new contacts and moved counters.
    Without counters, a contact whose only change is our own write costs nothing
    (``connector.sync.own_writes``)."""
    new, moved = [], []
    engaged = job.crm.engaged
    # a CRM without the notion (counters on the contact) never takes this branch
    complete = bool(getattr(job.crm, "stream_complete", True))
    cached = cached or {}
    for contact in contacts:
        prev = previous.get(contact.id)
        if full or prev is None:
            new.append(contact)
        elif contact.activity_signature is None:
            stored_ids = {e.id for e in cached.get(contact.id, [])}
            if own_writes.nothing_new(contact, prev, job.score_property.name,
                                      own_writes.news(contact, engaged, stored_ids),
                                      complete):
                report.counts["engagement_unchanged"] += 1
            else:
                moved.append(contact)
        elif contact.activity_signature != prev.activity_signature:
            moved.append(contact)
    fetched: dict[str, list[Event]] = {}
    if new:
        fetched.update(job.crm.fetch_events(new, None))
    if moved:
        since = _since_for(moved, previous, bookmark)
        fetched.update(job.crm.fetch_events(moved, since))
    report.counts["events_fetched_for"] += len(new) + len(moved)
    report.counts["events"] += sum(len(v) for v in fetched.values())
    return fetched


def _since_for(contacts: Sequence[Contact], previous: dict[str, StoredContact],
               bookmark: datetime | None) -> datetime | None:
    """Events after the oldest of these contacts' last scoring, with a day of overlap for
    CRM clocks and late-arriving events (duplicates are merged by event id)."""
    times = [t for c in contacts if (t := previous[c.id].last_scored_at) is not None]
    if bookmark is not None:
        times.append(bookmark)
    if not times:
        return None
    return min(times) - timedelta(days=1)



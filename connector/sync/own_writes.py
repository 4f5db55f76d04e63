"""Our own writes come back: recognise them so they cost no engagement call.

Writing a score moves the contact's modification time (ActiveCampaign's ``udate``), so the
next incremental pull yields every contact we wrote. A CRM without engagement counters
(ActiveCampaign) gives no other sign that nothing else happened, so state keeps, per
contact, what we wrote and when (``written_score``, ``written_at``, ``written_fields_hash``;
migration 0006). A pulled contact is only our write's echo when all of these hold:

- the CRM shows the value we wrote, and the fields we score from hash the same as when we
  scored them (a person's edit changes the hash; the score and marker fields are excluded);
- its modification time falls within the write's window: from ``WINDOW_BEFORE`` before the
  CRM confirmed the write (a bulk import is applied while we poll it) to ``CLOCK_SKEW``
  after (the CRM's clock is not ours);
- the CRM's activity stream names no engagement of the contact that state does not hold
  (when the adapter read one: ``crm.engaged``). Site visits do not move ActiveCampaign's
  ``udate`` at all, so they are found there and never through the modification time;
- and that stream is complete (``crm.stream_complete``): read this run and proven to name
  site visits. Where it is not (refused, answered empty, or not shown to list visits: a
  server that lists visits only in each contact's tracking logs), a contact whose
  modification time moved has its engagement read, inside our write's window too: the
  echo of our write never hides a visit made a few minutes after it (issue 21).

A contact whose modification time has not moved since the last pull is unchanged the same
way (pulled again by a date filter's overlap, or named by the stream).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from connector.crm.base import MARKER_NAME
from connector.models import Contact
from connector.store.base import StoredContact

# AC's bulk import is polled for up to about 10 minutes (connector/crm/activecampaign/writes.py)
WINDOW_BEFORE = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=2)


def fields_hash(contact: Contact, score_field: str) -> str:
    """A hash of what the score is computed from, without our own score and marker."""
    skip = {score_field, MARKER_NAME}
    fields = {k: v for k, v in contact.fields.items() if k not in skip}
    data: dict[str, Any] = {"email": contact.email, "fields": fields,
                            "owner": contact.owner_id, "customer": contact.is_customer}
    text = json.dumps(data, sort_keys=True, default=str)
    return sha256(text.encode()).hexdigest()[:32]


def news(contact: Contact, engaged: Mapping[str, set[str]] | None,
         stored_event_ids: set[str]) -> bool:
    """Whether the activity stream shows engagement of ``contact`` that state lacks."""
    return engaged is not None and bool(engaged.get(contact.id, set()) - stored_event_ids)


def nothing_new(contact: Contact, prev: StoredContact | None, score_field: str,
                has_news: bool, stream_complete: bool = True) -> bool:
    """True when ``contact`` is unchanged or changed only by our last write (see the
    module docstring): its engagement need not be fetched."""
    if prev is None or has_news:
        return False
    when = contact.updated_at
    if when is not None and when == prev.updated_at_crm:
        return True
    if not stream_complete:  # the stream cannot vouch that only our write happened
        return False
    if prev.written_at is None or prev.written_fields_hash is None:
        return False
    if when is None or not (prev.written_at - WINDOW_BEFORE <= when
                            <= prev.written_at + CLOCK_SKEW):
        return False
    if contact.score_in_crm != prev.written_score:
        return False
    return fields_hash(contact, score_field) == prev.written_fields_hash


def carried(prev: StoredContact | None) -> dict[str, Any]:
    """The last write's record, kept while nothing new is written."""
    if prev is None:
        return {}
    return {"written_score": prev.written_score, "written_at": prev.written_at,
            "written_fields_hash": prev.written_fields_hash}


def written(contact: Contact, value: int, at: datetime, score_field: str) -> dict[str, Any]:
    """The record of a write of ``value`` confirmed at ``at``."""
    return {"written_score": value, "written_at": at,
            "written_fields_hash": fields_hash(contact, score_field)}

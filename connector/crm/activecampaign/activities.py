"""Reading ActiveCampaign's activity-stream rows (``GET /activities``): which rows are
opens, clicks, forms or site visits, and the events they make; unknown types are counted
and said in the sync report."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.crm.activecampaign.session import ACSession
from connector.crm.activecampaign.values import parse_time
from connector.crm.mapping import form_event_type
from connector.crm.spool import ActivitySpool, Engaged, MemorySpool, SpoolRow
from connector.models import Event, EventType

# ``GET /activities``: what each ``reference_type`` is. It names the *model* of the activity
# (the vendor's reference, https://developers.activecampaign.com/reference/list-contact-
# activities, "Response details": SubscriberEmail, DealTask, SubscriberList,
# SubscriberSeries, Log, Update, DealActivity, Forward, Reply, Note, LinkData, MppLinkData,
# SmsLog, SmsReply, SmsUnsub, TrackingLog, SeriesBlock, SubscriberLog, SubscriberConversion,
# FbAudienceContactLog, EcomOrderActivity, "but are not limited to"); the spec's example
# (../shared/specs/activecampaign-v3.openapi.json, GET /activities 200) carries
# ``referenceModelName`` beside it in kebab case ("contact-email"), and a public integration
# that reads real accounts keys on it ("log", "link-data", "mpp-link-data"). ``jsonData`` is
# null in the spec's example and a JSON *string* on servers built from the spec, or an
# object: both are read. Its keys are not documented: campaign (campaignid), message
# (messageid), url (link) and form (name) are read where present. Names are compared
# without case, "-" or "_"; the verbs "open" / "link" / "form" of older sandboxes still
# parse. Caveats found: that integration saw "Log" rows that were sends, and opens as
# link data on the campaign's "Read Tracker" link (``GET /campaigns/{id}/links``:
# ``"link": "open"``), so link data whose link is "open" is an open, and "Log" is an open
# as the activity servers built from the spec send it. MppLinkData is Apple Mail Privacy
# Protection fetching the pixel, a machine and not a reader: not scored.
OPEN_TYPES = frozenset({"log", "open"})
CLICK_TYPES = frozenset({"linkdata", "link"})
FORM_TYPES = frozenset({"form", "formsubmission", "subscriberform"})
NOT_ENGAGEMENT = frozenset({
    "subscriberemail", "contactemail", "dealtask", "subscriberlist", "subscriberseries",
    "update", "dealactivity", "forward", "reply", "note", "mpplinkdata", "smslog",
    "smsreply", "smsunsub", "trackinglog", "seriesblock", "subscriberlog",
    "subscriberconversion", "fbaudiencecontactlog", "ecomorderactivity"})
UNKNOWN_NOTE = "activities of unknown type"
SPOOL_ROWS = 5_000  # stream rows handed to the spool at once


class ActivityReader(ACSession):
    """Reads the activity stream (all of it, or one contact's) into a ``Stream``."""

    def _activities(self, params: dict[str, Any], since: datetime | None,
                    ) -> dict[str, list[Event]]:
        """The scored activities by contact (``params``: e.g. one ``contact``), read
        into memory: for a few contacts only."""
        spool = MemorySpool()
        stream = self._read_stream(params, since, spool)
        return stream.events_of(list(spool.contact_ids(stream.number)))

    def _read_stream(self, params: dict[str, Any], since: datetime | None,
                     spool: ActivitySpool) -> Stream:
        """The stream into ``spool``, handed on a window of pages at a time (never held
        whole: a 100,000-contact account's stream is about 770,000 rows)."""
        out = Stream(spool, spool.new_stream())
        if since is not None:
            params = {**params, "after": since.isoformat()}
        held: list[SpoolRow] = []
        for rows in self._pages("/activities", "activities", params):
            for row in rows:
                out.rows += 1
                spooled = self._spool_row(row)
                if spooled is not None:
                    held.append(spooled)
            if len(held) >= SPOOL_ROWS:
                spool.add(out.number, held)
                held = []
        spool.add(out.number, held)
        return out

    def _spool_row(self, row: Mapping[str, Any]) -> SpoolRow | None:
        if is_visit_row(row):
            # a site visit: its page is in the contact's tracking logs, as the event
            # ``ac-trk-{id}`` (``reference_id`` names the tracking log)
            cid = row_contact(row)
            ref = row.get("reference_id") or f"act-{row.get('id')}"
            return (cid, f"ac-trk-{ref}", None) if cid else None
        event = self._activity_event(row)
        return (event.contact_id, event.id, event) if event is not None else None

    def _activity_event(self, row: Mapping[str, Any]) -> Event | None:
        when = parse_time(row.get("tstamp"))
        cid = row_contact(row)
        if when is None or not cid:
            return None
        data = _json_data(row.get("jsonData"))
        kind = activity_kind(row, data)
        eid = f"ac-act-{row.get('id')}"
        campaign = _first(data, "campaign", "campaignid", "campaign_id")
        if kind == "open":
            return Event(eid, cid, EventType.EMAIL_OPEN, when,
                         email_id=campaign or _str(row.get("reference_id")))
        if kind == "click":
            return Event(eid, cid, EventType.EMAIL_CLICK, when,
                         url=_first(data, "url", "link"), email_id=campaign)
        if kind == "form":
            name = _first(data, "form", "name", "formname") or _str(row.get("reference_id"))
            return Event(eid, cid, form_event_type(name), when, name=name,
                         url=_first(data, "url"))
        if kind is not None:  # a known activity that is not engagement (a send, a note)
            return None
        label = str(row.get("reference_type") or row.get("referenceModelName") or "(none)")
        with self._unknown_lock:
            self._unknown[label] += 1
            lines = [f"{n} {UNKNOWN_NOTE} {t!r} ignored (not scored)"
                     for t, n in sorted(self._unknown.items())]
            self.notes.degraded[:] = [n for n in self.notes.degraded
                                      if UNKNOWN_NOTE not in n] + lines
        return None


@dataclass
class Stream:
    """An activity stream read this run, kept in a spool (``connector/crm/spool.py``):
    scored events by contact, and per contact with a ``TrackingLog`` row (a site visit,
    read from its tracking logs) the event ids those visits will have."""

    spool: ActivitySpool
    number: int
    rows: int = 0  # every row read, engagement or not

    def events_of(self, contact_ids: Sequence[str]) -> dict[str, list[Event]]:
        """The scored events of these contacts (one read of the spool)."""
        return self.spool.events(self.number, contact_ids)

    def engaged(self) -> Engaged:
        """Contact id -> every id the stream names for it (events and visits)."""
        return Engaged(self.spool, self.number)


def _norm(name: Any) -> str:
    return str(name or "").lower().replace("-", "").replace("_", "").replace(" ", "")


def is_visit_row(row: Mapping[str, Any]) -> bool:
    """Whether an activity-stream row is a site visit (a ``TrackingLog``)."""
    return "trackinglog" in (_norm(row.get("reference_type")),
                             _norm(row.get("referenceModelName")))


def row_contact(row: Mapping[str, Any]) -> str:
    """The contact an activity-stream row is about ("" when it names none)."""
    return str(row.get("subscriberid") or row.get("contact") or "")


def activity_kind(row: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """"open", "click", "form", "other" (known, not engagement) or None (unknown)."""
    for name in (_norm(row.get("reference_type")), _norm(row.get("referenceModelName"))):
        if not name:
            continue
        if name in CLICK_TYPES:
            # the campaign's "Read Tracker" is a link whose link is "open": an open
            return "open" if _norm(_first(data, "link", "url")) == "open" else "click"
        if name in OPEN_TYPES:
            return "open"
        if name in FORM_TYPES:
            return "form"
        if name in NOT_ENGAGEMENT:
            return "other"
    return None


def _json_data(value: Any) -> dict[str, Any]:
    """``jsonData``: an object, a JSON string of one, or null."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "", 0, "0") else None


def _first(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = _str(data.get(key))
        if value is not None:
            return value
    return None

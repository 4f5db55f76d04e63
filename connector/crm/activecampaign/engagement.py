"""ActiveCampaign engagement: opens, clicks and forms from the account's activity stream
(read once a run for many contacts) or from each contact's own activities, and page visits
from each contact's tracking logs; a refused or unproven stream is said in the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from connector.crm.activecampaign.activities import ActivityReader, Stream
from connector.crm.activecampaign.values import parse_time
from connector.crm.fanout import fan_out
from connector.crm.spool import MemorySpool
from connector.errors import AuthError, NotFoundError, SkipRecord
from connector.models import Contact, Event, EventType

# what the sync report says when the account-wide stream cannot be used (issue 21); each
# names what is read instead, what is not seen, and the fix
STREAM_NOTE = "ActiveCampaign's account-wide activity stream"
_PER_CONTACT = ("opens, clicks and forms are read per contact instead (GET /activities?"
                "contact=, one request per changed contact) and site visits from the "
                "tracking logs of changed contacts; a visit by a contact whose record did "
                "not change is not seen until it changes. Fix: ask ActiveCampaign to "
                "enable GET /activities without a contact for this API key, then run "
                "`connector resync --full`")
REFUSED_NOTE = STREAM_NOTE + " (GET /activities) was refused with {how}: " + _PER_CONTACT
EMPTY_NOTE = (STREAM_NOTE + " (GET /activities) answered empty while a contact's own "
              "activities list rows, so it is not read: " + _PER_CONTACT)
UNREAD_NOTE = (STREAM_NOTE + " and each contact's activities (GET /activities?contact=) "
               "were refused with {how}: email opens, clicks and form submissions are not "
               "read, only site visits (tracking logs). Fix: give this API key's user "
               "access to contact activities in ActiveCampaign, then run "
               "`connector resync --full`")




class Engagement(ActivityReader):
    """``fetch_events``, and the account's stream the pull reads for ``engaged``."""

    _activity_cache: dict[datetime | None, Stream]  # the stream read this run, by since

    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        ids = [c.id for c in contacts]
        # the account's stream for many contacts, or when this run already read it
        stream = (self._account_activities(since)
                  if len(ids) >= self.bulk_threshold or self._stream_read(since) else None)
        if stream is not None:
            held = stream.events_of(ids)  # this batch's rows of the spool, no more

            def activities(cid: str) -> list[Event]:
                return [e for e in held.get(cid, [])
                        if since is None or e.occurred_at >= since]
        else:
            if self._stream_refused and ids:
                self._note(REFUSED_NOTE.format(how=self._stream_refused))

            def activities(cid: str) -> list[Event]:
                return self._one_contacts_activities(cid, since)

        got = fan_out(lambda cid: activities(cid) + self._page_visits(cid, since), ids,
                      self.engagement_workers)
        return dict(zip(ids, got, strict=True))

    def _account_activities(self, since: datetime | None) -> Stream | None:
        """One paged stream of the whole account's activities, or None where each contact
        is asked for its own: the account refuses ``/activities`` without ``contact`` (the
        reference now says "A contact ID is required"; a 4xx, 403 or 404 alike), or its
        stream answered empty and is not proven to work (``stream_names_visits``): an
        empty answer is also what a server gives that lists nothing account-wide. A stream
        read this run from an earlier time serves a later one (callers drop the older
        events)."""
        if not self._account_stream or self._stream_untrusted:
            return None
        for key, stream in self._activity_cache.items():
            if key is None or (since is not None and key <= since):
                return stream
        try:
            stream = self._read_stream({}, since, self.spool)
        except (SkipRecord, AuthError, NotFoundError) as exc:
            self._account_stream = False
            self._stream_refused = f"{exc.status or 'an error'} ({exc.detail})"
            return None
        if not stream.rows and self.stream_names_visits is not True:
            self._stream_untrusted = True
            return None
        self._activity_cache[since] = stream
        return stream

    def _stream_read(self, since: datetime | None) -> bool:
        return any(key is None or (since is not None and key <= since)
                   for key in self._activity_cache)

    def _one_contacts_activities(self, cid: str, since: datetime | None) -> list[Event]:
        """One contact's scored activities (``/activities?contact=``). A 403 or 404 here
        too leaves opens, clicks and forms unread (said in the sync report); a contact's
        own rows where the account-wide stream answered empty prove that answer wrong."""
        if not self._contact_activities:
            return []
        try:
            stream = self._read_stream({"contact": cid}, since, MemorySpool())
        except (AuthError, NotFoundError) as exc:
            self._contact_activities = False
            self._note(UNREAD_NOTE.format(how=f"{exc.status} ({exc.detail})"))
            return []
        if stream.rows and self._stream_untrusted:
            self._note(EMPTY_NOTE)
        return stream.events_of([cid]).get(cid, [])


    def _page_visits(self, cid: str, since: datetime | None) -> list[Event]:
        """Every page of the contact's tracking logs (AC answers 20 a page by default)."""
        out: list[Event] = []
        try:
            for rows in self._offset_list(f"/contacts/{cid}/trackingLogs", "trackingLogs"):
                for row in rows:
                    when = parse_time(row.get("tstamp"))
                    if row.get("type") != "__pagevisit" or when is None:
                        continue
                    if since is not None and when < since:
                        continue
                    out.append(Event(f"ac-trk-{row.get('id')}", cid, EventType.PAGE_VIEW,
                                     when, url=row.get("value")))
        except NotFoundError:
            pass
        return out

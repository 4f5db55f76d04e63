"""What an ActiveCampaign account can do, asked with read-only calls
(``connector/crm/detected.py``).

- ``fields`` / ``tags``: how many custom fields and tags the account has (every page of
  ``GET /fields`` and ``GET /tags``: the adapter reads them to the end for the pull anyway);
- ``activity_stream``: what the account-wide ``GET /activities`` (no ``contact``) answers:
  "ok" (it lists activities), "refused" (403 or 422: the reference now says "A contact ID
  is required"), "missing" (404), "empty" (200 with no rows while the sampled contacts'
  own activities are not empty: the stream leaves engagement out), or "quiet" (200 with no
  rows, and the sample has none either: nothing to tell);
- ``stream_names_visits``: whether the stream names site visits (``TrackingLog`` rows,
  a documented ``reference_type``: developers.activecampaign.com/reference/
  list-contact-activities). That it does is not documented for the account-wide stream:
  on a sample of recently active contacts (the newest rows of the stream, by the spec's
  ``orders[tstamp]``; else the first contacts listed) each page visit in the contact's
  tracking logs is looked for among the ``TrackingLog`` rows of the stream asked for that
  contact. True: every visit is named; False: a visit is missing; None: unproven (no
  sampled contact had a visit, or the account-wide stream lists nothing to prove it by).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector.crm.activecampaign.activities import is_visit_row, row_contact
from connector.crm.detected import Detected
from connector.errors import AuthError, NotFoundError, SkipRecord

if TYPE_CHECKING:
    from connector.crm.activecampaign.lookups import Lookups

SAMPLE = 3  # contacts whose tracking logs are compared with the stream (2 calls each)
PAGE = 100


@dataclass
class Sampled:
    """One sampled contact: the ids of its page visits (tracking logs) and those the
    stream named."""

    contact_id: str
    visits: set[str] = field(default_factory=set)
    named: set[str] = field(default_factory=set)
    activities: int = 0
    complete: bool = True  # both lists fit in one page: a missing visit is really missing

    @property
    def unnamed(self) -> set[str]:
        return self.visits - self.named if self.complete else set()


@dataclass
class StreamProbe:
    state: str
    names_visits: bool | None
    sampled: list[Sampled] = field(default_factory=list)
    refused: str | None = None  # how the account-wide stream was refused ("403 (...)")


def detect(crm: Lookups) -> tuple[Detected, StreamProbe]:
    """The account's capabilities, and the stream probe behind them (doctor shows it)."""
    found: dict[str, Any] = {"fields": len(crm._field_map()), "tags": len(crm._tag_names())}
    probe = probe_stream(crm)
    found["activity_stream"] = probe.state
    found["stream_names_visits"] = probe.names_visits
    return Detected(crm.kind, found, crm.clock.now()), probe


def probe_stream(crm: Lookups) -> StreamProbe:
    rows: list[dict[str, Any]] = []
    refused: str | None = None
    try:
        body = crm.http.get("/activities", limit=PAGE, **{"orders[tstamp]": "DESC"})
    except (NotFoundError, AuthError, SkipRecord) as exc:  # the token was good for /fields
        state = "missing" if isinstance(exc, NotFoundError) else "refused"
        refused = f"{exc.status or 'an error'} ({exc.detail})"
    else:
        rows = list(body.get("activities") or [])
        state = "ok" if rows else "quiet"
    ids = list(dict.fromkeys(row_contact(r) for r in rows if row_contact(r)))[:SAMPLE]
    if not ids:
        listed = crm.http.get("/contacts", limit=SAMPLE).get("contacts") or []
        ids = [str(c.get("id")) for c in listed if c.get("id")][:SAMPLE]
    sampled = [_sample(crm, cid) for cid in ids]
    if state == "quiet" and any(s.activities for s in sampled):
        state = "empty"
    with_visits = [s for s in sampled if s.visits]
    names: bool | None = None
    if with_visits and state == "ok":  # only a stream that lists activities can prove it
        names = not any(s.unnamed for s in with_visits)
    return StreamProbe(state, names, sampled, refused)


def _sample(crm: Lookups, cid: str) -> Sampled:
    out = Sampled(cid)
    try:
        logs = crm.http.get(f"/contacts/{cid}/trackingLogs", limit=PAGE)
    except (NotFoundError, AuthError, SkipRecord):
        return out
    log_rows = logs.get("trackingLogs") or []
    out.visits = {str(r.get("id")) for r in log_rows if r.get("type") == "__pagevisit"}
    try:
        body = crm.http.get("/activities", contact=cid, limit=PAGE)
    except (NotFoundError, AuthError, SkipRecord):  # a plan without contact activities
        out.complete = False
        return out
    rows = body.get("activities") or []
    out.activities = len(rows)
    out.named = {str(r.get("reference_id")) for r in rows if is_visit_row(r)}
    out.complete = len(rows) < PAGE and len(log_rows) < PAGE
    return out


def use(crm: Lookups, detected: Detected) -> list[str]:
    """The adapter learns whether the stream is proven to name visits
    (``stream_names_visits``); a refused or empty stream it finds out itself at the first
    read, and says so in the report."""
    crm.stream_names_visits = detected.found.get("stream_names_visits")
    return []

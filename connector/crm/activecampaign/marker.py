"""The warm-up marker on ActiveCampaign: a text custom field holding when the connector
planned the contact's invite, read per contact and written by id or in bulk imports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from connector.crm.activecampaign.values import parse_time
from connector.crm.activecampaign.writes import ScoreWrites
from connector.crm.base import MARKER_DESCRIPTION, MARKER_LABEL, MARKER_NAME, WriteReport
from connector.errors import CRMError, NotFoundError
from connector.models import Contact

MARKER_TAG = MARKER_NAME.upper()  # the warm-up marker field's personalisation tag


def _marker_value(at: datetime) -> str:
    """The marker field's text: ISO 8601 in UTC to the second."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")



class Marker(ScoreWrites):
    """``get_invited_at``, ``set_invited_at`` and ``set_invited_at_many``."""

    # A text custom field like the score (a "datetime" field's stored format and time zone
    # are not documented; a text field keeps our ISO 8601 UTC value verbatim), created with
    # POST /fields + /fieldRels, written by contact id with POST /fieldValues and read with
    # GET /contacts/{id}/fieldValues (../shared/specs/activecampaign-v3.openapi.json).
    def get_invited_at(self, contact: Contact) -> datetime | None:
        fid = self._field_map().get(MARKER_TAG)
        if fid is None or not contact.id.isdigit():
            return None  # the field does not exist yet: nobody was marked
        try:
            body = self.http.get(f"/contacts/{contact.id}/fieldValues")
        except NotFoundError:
            return None
        for row in body.get("fieldValues") or []:
            if str(row.get("field")) == fid:
                return parse_time(row.get("value"))
        return None

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        fid = self._marker_field()
        self.http.post("/fieldValues", {"fieldValue": {
            "contact": contact.id, "field": fid, "value": _marker_value(at)}})

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        """The markers of a delivery: by the bulk import the scores use (several contacts a
        call, by email) where the contact comes with the email this run pulled and there
        are enough, else one ``POST /fieldValues`` each (by id: an email read in an earlier
        run may have changed, and an import by an unknown email would create a contact)."""
        report = WriteReport()
        fid = self._marker_field()
        known = {c.id: (c.email, _marker_value(at)) for c, at in marks
                 if c.email and self._emails.get(c.id) == c.email}
        if len(known) < self.bulk_write_min:
            known = {}
        if known:
            self._bulk(list(known.items()), fid, report)
        for contact, at in marks:
            if contact.id in known:
                continue
            report.calls += 1
            try:
                self.set_invited_at(contact, at)
                report.written.append(contact.id)
            except (CRMError, OSError) as exc:  # the others are still written
                report.failed[contact.id] = str(exc)
        return report

    def _marker_field(self) -> str:
        fid = self._field_map().get(MARKER_TAG)
        if fid is not None:
            return fid
        body = self.http.get("/fields", **{"filters[perstag]": MARKER_TAG})
        if not body.get("fields"):
            created = self.http.post("/fields", {"field": {
                "title": MARKER_LABEL, "type": "text", "perstag": MARKER_TAG,
                "descript": MARKER_DESCRIPTION, "visible": 1}})
            field = created.get("field") or (created.get("fields") or [{}])[0]
            self.http.post("/fieldRels", {"fieldRel": {"field": field["id"], "relid": 0}})
            fid = str(field["id"])
        else:
            fid = str(body["fields"][0]["id"])
        self._field_map()[MARKER_TAG] = fid
        return fid

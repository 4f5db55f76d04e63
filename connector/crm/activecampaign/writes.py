"""Writes to ActiveCampaign: the score's text custom field (created when missing), and
field values by email: ``POST /contact/sync`` for a few contacts, bulk imports of 250
(polled to their outcome) for more."""

from __future__ import annotations

from collections.abc import Mapping

from connector import stopping
from connector.crm.activecampaign.lookups import Lookups
from connector.crm.activecampaign.session import PAGE
from connector.crm.activecampaign.values import perstag_for
from connector.crm.base import ScoreProperty, WriteReport
from connector.errors import FixConfiguration, SkipRecord

BULK = 250
# "The suggested minimum number of contacts is 10. If less than that, then contact/sync api
# request should be used." (bulk import, ../shared/specs/activecampaign-v3.openapi.json,
# POST /import/bulk_import, requestBody contacts.description)
BULK_WRITE_MIN = 10


class ScoreWrites(Lookups):
    """``ensure_score_property``, ``write_scores`` and the bulk import they share with the
    marker."""

    def ensure_score_property(self, prop: ScoreProperty) -> None:
        self.score_tag = perstag_for(prop.name)
        if self.score_tag in (self._field_ids or {}):
            return
        body = self.http.get("/fields", **{"filters[perstag]": self.score_tag})
        if body.get("fields"):
            if self._field_ids is not None:
                self._field_ids[self.score_tag] = str(body["fields"][0]["id"])
            return
        created = self.http.post("/fields", {"field": {
            "title": prop.label, "type": "text", "perstag": self.score_tag,
            "descript": prop.description, "visible": 1}})
        field = created.get("field") or (created.get("fields") or [{}])[0]
        self.http.post("/fieldRels", {"fieldRel": {"field": field["id"], "relid": 0}})
        self._field_ids = None

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        report = WriteReport()
        fid = self._field_map().get(self.score_tag)
        if fid is None:
            raise FixConfiguration("the score field does not exist", crm=self.kind,
                                   client=self.client_name, endpoint="write_scores",
                                   fix="the sync creates it; run `connector sync` again")
        self._learn_emails([str(cid) for cid in scores if str(cid) not in self._emails])
        known = {}
        for cid, value in scores.items():
            email = self._emails.get(str(cid))
            if email is None:
                report.failed[str(cid)] = "contact does not exist (no email known)"
            else:
                known[str(cid)] = (email, str(int(value)))
        if len(known) >= self.bulk_write_min:  # one bulk import per 250, else one call each
            self._bulk(list(known.items()), fid, report)
        else:
            for cid, (email, text) in known.items():
                report.calls += 1
                try:
                    self.http.post("/contact/sync", {"contact": {
                        "email": email, "fieldValues": [{"field": fid, "value": text}]}})
                    report.written.append(cid)
                except SkipRecord as exc:
                    report.failed[cid] = exc.detail
        return report

    def _learn_emails(self, ids: list[str]) -> None:
        """Look up the emails of contacts not pulled in this run (writes go by email)."""
        numeric = [cid for cid in ids if cid.isdigit()]
        for start in range(0, len(numeric), PAGE):
            chunk = numeric[start:start + PAGE]
            body = self.http.get("/contacts", ids=",".join(chunk), limit=PAGE)
            for row in body.get("contacts") or []:
                if row.get("email"):
                    self._emails[str(row["id"])] = row["email"]

    def _bulk(self, items: list[tuple[str, tuple[str, str]]], fid: str,
              report: WriteReport) -> None:
        """Write field ``fid`` of each (contact id, (email, value)): one bulk import per
        250, side by side, then their outcomes."""
        batches = [items[i:i + BULK] for i in range(0, len(items), BULK)]
        queued = {self._queue(batch, fid, report): batch for batch in batches}
        self._await(queued, report)

    def _queue(self, items: list[tuple[str, tuple[str, str]]], fid: str,
               report: WriteReport) -> str:
        report.calls += 1
        body = self.http.post("/import/bulk_import", {"contacts": [
            {"email": email, "fields": [{"id": int(fid), "value": value}]}
            for _, (email, value) in items]})
        return str(body.get("batchId"))

    def _await(self, queued: dict[str, list[tuple[str, tuple[str, str]]]],
               report: WriteReport) -> None:
        """Poll the queued imports until they complete, then report per contact.

        AC runs the imports of one write side by side, so each round polls every one still
        pending and the back-off is shared: one wait per round, not per import.
        """
        pending = dict(queued)
        pause = self.import_poll_seconds
        for _ in range(60):
            for batch, items in list(pending.items()):
                info = self.http.get("/import/info", batchId=batch)
                if info.get("status") != "completed":
                    continue
                done = {str(x) for x in info.get("success") or []}
                failed_emails = {str(x).lower() for x in info.get("failure") or []}
                for cid, (email, _) in items:
                    if cid in done:
                        report.written.append(cid)
                    else:
                        report.failed[cid] = ("rejected by the bulk import"
                                              if email.lower() in failed_emails
                                              else "not confirmed by the bulk import")
                del pending[batch]
            if not pending:
                return
            if stopping.requested():  # a stop does not wait out AC's queue: what is not
                break  # confirmed yet is a failed write, retried (idempotent) next sync
            self.clock.sleep(pause)
            pause = min(pause * 2, 10.0)
        for batch, items in pending.items():
            for cid, _ in items:
                report.failed[cid] = f"bulk import {batch} did not finish; retried next sync"

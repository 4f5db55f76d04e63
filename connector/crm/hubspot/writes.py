"""Writes to HubSpot contacts: the score property (created when missing), the scores in
batch updates of 100 (a rejected batch bisected to its bad record), and the warm-up
marker property."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInput,
)
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from connector.crm.base import (
    MARKER_DESCRIPTION,
    MARKER_LABEL,
    MARKER_NAME,
    ScoreProperty,
    WriteReport,
)
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.values import iso, parse_time_or_none
from connector.errors import NotFoundError, SkipRecord
from connector.models import Contact

BATCH = 100


class Writes(HubSpotSession):
    """``ensure_score_property``, ``write_scores`` and the warm-up marker."""

    def ensure_score_property(self, prop: ScoreProperty) -> None:
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        self.score_property = prop.name
        self._group = prop.group
        if prop.name in self._ensured:
            return
        try:
            api.get_by_name("contacts", prop.name)
            self._ensured.add(prop.name)
            return
        except NotFoundError:
            pass
        groups = self._api("groups", lambda: self.sdk.crm.properties.groups_api)
        try:
            groups.get_by_name("contacts", prop.group)
        except NotFoundError:
            try:
                groups.create("contacts", PropertyGroupCreate(name=prop.group,
                                                              label=prop.group.title()))
            except SkipRecord as exc:
                if exc.status != 409:
                    raise
        try:
            api.create("contacts", PropertyCreate(
                name=prop.name, label=prop.label, type="number", field_type="number",
                group_name=prop.group, description=prop.description))
        except SkipRecord as exc:
            if exc.status != 409:
                raise
        self._ensured.add(prop.name)

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        items = [(str(cid), str(int(value))) for cid, value in scores.items()]
        return self._write_property(self.score_property, items)

    def _write_property(self, prop: str, items: list[tuple[str, str]]) -> WriteReport:
        """Write ``prop`` of each (contact id, value) with the batch update, 100 a call."""
        report = WriteReport()
        for start in range(0, len(items), BATCH):
            self._write_batch(prop, items[start:start + BATCH], report, retry=True)
        return report

    def _write_batch(self, prop: str, items: list[tuple[str, str]], report: WriteReport,
                     retry: bool) -> None:
        api = self._api("batch", lambda: self.sdk.crm.contacts.batch_api)
        body = BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=cid, properties={prop: value})
            for cid, value in items])
        report.calls += 1
        try:
            result = api.update(batch_input_simple_public_object_batch_input=body)
        except SkipRecord as exc:
            # HubSpot rejects the whole batch for one invalid value: isolate it
            if len(items) == 1:
                report.failed[items[0][0]] = exc.detail
                return
            middle = len(items) // 2
            self._write_batch(prop, items[:middle], report, retry)
            self._write_batch(prop, items[middle:], report, retry)
            return
        done = {str(r.id) for r in (result.results or [])}
        report.written.extend(cid for cid, _ in items if cid in done)
        failed: dict[str, str] = {}
        gone: set[str] = set()
        for error in getattr(result, "errors", None) or []:
            for cid in (error.context or {}).get("ids", []):
                failed[str(cid)] = error.message
                if error.category == "OBJECT_NOT_FOUND":
                    gone.add(str(cid))
        missing = [(cid, v) for cid, v in items if cid not in done]
        retryable = [(cid, v) for cid, v in missing if cid not in gone]
        if retryable and retry:  # a 207 for other reasons may pass on a second try
            self._write_batch(prop, retryable, report, retry=False)
            missing = [(cid, v) for cid, v in missing if cid in gone]
        for cid, _ in missing:
            report.failed[cid] = failed.get(cid, "not confirmed by HubSpot")

    # -- warm-up marker -------------------------------------------------------------------
    # A datetime contact property (type datetime, fieldType date: "Property type and
    # fieldType values", https://developers.hubspot.com/docs/api/crm/properties); written as
    # ISO 8601 and read back as ISO 8601 in UTC.
    def get_invited_at(self, contact: Contact) -> datetime | None:
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        obj = api.get_by_id(contact.id, properties=[MARKER_NAME], archived=False)
        return parse_time_or_none((obj.properties or {}).get(MARKER_NAME))

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        self._ensure_marker()
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        api.update(contact.id, SimplePublicObjectInput(properties={MARKER_NAME: iso(at)}))

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        # the batch update the scores use (POST /crm/v3/objects/contacts/batch/update, 100
        # inputs a call: https://developers.hubspot.com/docs/api/crm/contacts, "Batch")
        self._ensure_marker()
        return self._write_property(MARKER_NAME, [(c.id, iso(at)) for c, at in marks])

    def _ensure_marker(self) -> None:
        if MARKER_NAME in self._ensured:
            return
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        try:
            api.get_by_name("contacts", MARKER_NAME)
        except NotFoundError:
            try:
                api.create("contacts", PropertyCreate(
                    name=MARKER_NAME, label=MARKER_LABEL, type="datetime", field_type="date",
                    group_name=self._group, description=MARKER_DESCRIPTION))
            except SkipRecord as exc:
                if exc.status != 409:
                    raise
        self._ensured.add(MARKER_NAME)

"""The CRM's warm-up marker around one delivery (connector.actions.marker)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.actions.context import ActionContext
from connector.actions.marker import ALREADY, PULLED, Marks, acted_in_crm, deliver_once
from connector.errors import ServerError
from connector.models import Contact
from connector.sandbox.memory_crm import MemoryCRM
from connector.store.base import OutboxEntry

from ..e2e.helpers import client_config

PLANNED = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)


def entry(kind: str, planned: datetime = PLANNED) -> OutboxEntry:
    return OutboxEntry("acme", "7", kind, f"{kind}:7:1",
                       {"email": "maja@lund.dk", "planned_at": planned.isoformat()}, id=1)


def context(crm: MemoryCRM) -> ActionContext:
    return ActionContext(client=client_config("acme", "hubspot", "http://x", 25), crm=crm)


def sent(entry: OutboxEntry, ctx: ActionContext, record) -> None:
    record(f"{entry.kind} sent")


def memory_crm() -> MemoryCRM:
    crm = MemoryCRM()
    crm.load([Contact("7", "maja@lund.dk")])
    return crm


def test_a_warm_ups_invite_and_note_both_go_and_mark_the_contact_once():
    crm = memory_crm()
    details: list[str] = []
    for kind in ("invite", "notify"):
        deliver_once(entry(kind), context(crm), details.append, sent)
    assert details == ["invite sent", "notify sent"]  # the sibling's marker hides nothing
    assert crm.account.invited_at["7"] == PLANNED
    assert crm.calls["marker_write"] == 1


def test_a_later_plan_in_the_crm_stops_the_entry_without_sending():
    crm = memory_crm()
    crm.account.invited_at["7"] = PLANNED + timedelta(hours=1)
    details: list[str] = []
    deliver_once(entry("invite"), context(crm), details.append, sent)
    assert len(details) == 1 and details[0].startswith(ALREADY)
    assert crm.account.invited_at["7"] == PLANNED + timedelta(hours=1)  # not moved back


def pulled(kind: str, run: str, marker: datetime | None) -> OutboxEntry:
    """An entry planned in run ``run``, which pulled the contact with ``marker``."""
    e = entry(kind)
    e.payload[PULLED] = {"run": run, "value": marker.isoformat() if marker else None}
    return e


def test_the_run_that_planned_an_entry_uses_the_marker_it_pulled_and_batches_the_write():
    crm = memory_crm()
    ctx = replace(context(crm), run_id="run-1")
    marks = Marks(ctx)
    details: list[str] = []
    for kind in ("invite", "notify"):
        deliver_once(pulled(kind, "run-1", None), ctx, details.append, sent, marks)
    assert details == ["invite sent", "notify sent"]
    assert crm.calls["marker_read"] == 0 and "7" not in crm.account.invited_at  # not yet
    marks.flush()
    assert crm.account.invited_at["7"] == PLANNED
    assert (crm.calls["marker_write"], crm.calls["marker_write_batch"]) == (0, 1)


def test_an_entry_planned_in_an_earlier_run_reads_the_marker_again():
    crm = memory_crm()
    crm.account.invited_at["7"] = PLANNED + timedelta(hours=1)  # another deployment acted
    ctx = replace(context(crm), run_id="run-2")
    details: list[str] = []
    deliver_once(pulled("invite", "run-1", None), ctx, details.append, sent, Marks(ctx))
    assert len(details) == 1 and details[0].startswith(ALREADY)
    assert crm.calls["marker_read"] == 1


class _NoMarkerCRM(MemoryCRM):
    def get_invited_at(self, contact):
        raise ServerError("503", crm="memory", client="acme", endpoint="marker", status=503)

    def set_invited_at(self, contact, at):
        raise ServerError("503", crm="memory", client="acme", endpoint="marker", status=503)

    def set_invited_at_many(self, marks):
        raise ServerError("503", crm="memory", client="acme", endpoint="marker", status=503)


def test_a_failed_batch_of_markers_is_a_warning_not_an_undone_delivery(caplog):
    crm = _NoMarkerCRM()
    crm.load([Contact("7", "maja@lund.dk")])
    ctx = replace(context(crm), run_id="run-1")
    marks = Marks(ctx)
    details: list[str] = []
    deliver_once(pulled("invite", "run-1", None), ctx, details.append, sent, marks)
    marks.flush()
    assert details == ["invite sent"]
    assert "could not write the warm-up marker of contact 7" in caplog.text


def test_a_crm_that_cannot_keep_the_marker_never_stops_or_undoes_a_delivery(caplog):
    crm = _NoMarkerCRM()
    crm.load([Contact("7", "maja@lund.dk")])
    details: list[str] = []
    deliver_once(entry("invite"), context(crm), details.append, sent)
    assert details == ["invite sent"]
    assert "could not write the warm-up marker" in caplog.text


def test_planning_counts_a_marker_unless_the_state_saw_the_lead_cold_after_it():
    marked = Contact("7", "maja@lund.dk", invited_at=PLANNED)
    assert acted_in_crm(marked, None)  # a fresh state: the same warm-up
    assert acted_in_crm(marked, PLANNED - timedelta(days=3))  # cold before the invite
    assert not acted_in_crm(marked, PLANNED + timedelta(days=30))  # cooled since: new
    assert not acted_in_crm(Contact("7", "maja@lund.dk"), None)  # never invited

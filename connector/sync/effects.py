"""A run's effects: real (write to the CRM and state, send) or dry (note what would be done).

The stages decide what to do; only these objects change anything outside the run. A dry
run reads like a real one (the CRM, state, engagement) and its report's ``planned`` lists
the writes and actions a real run would have made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from connector.actions.deliver import settle_hint
from connector.errors import ConnectorError
from connector.models import Contact
from connector.store.base import StoredContact
from connector.sync.context import BatchRecord, Effects, RunContext
from connector.sync.deliver import preview_guard, send_outbox
from connector.sync.job import CONTACTS_STREAM, FIRST_SYNC_HOLD
from connector.sync.record import record_model


class RealEffects:
    """The changes a sync makes: the CRM's scores, state in one transaction per batch, the
    outbox delivered."""

    label = ""
    keeps_capabilities = True

    def open_run(self, ctx: RunContext, kind: str) -> None:
        ctx.report.run_id = ctx.store.start_run(ctx.client, kind, ctx.started)

    def prepare(self, ctx: RunContext) -> None:
        """Settle what an interrupted run left, make sure the score property exists and
        remember the model before any score names it."""
        for entry in ctx.store.recover_interrupted(ctx.client, ctx.started):
            ctx.report.unknown_actions.append(
                f"{entry.kind} for contact {entry.contact_id} ({entry.dedupe_key}): outcome "
                "unknown after an interrupted run; " + settle_hint(ctx.client, entry)
            )
        ctx.crm.ensure_score_property(ctx.job.score_property)
        record_model(ctx)

    def unprocessed(self, ctx: RunContext, contacts: Sequence[Contact],
                    previous: Mapping[str, StoredContact]) -> list[Contact]:
        """A contact is processed once per run. State says which were (scored at this run's
        start), so memory stays flat however many contacts stream through."""
        return [c for c in contacts if (p := previous.get(c.id)) is None
                or p.last_scored_at != ctx.started]

    def write_scores(self, ctx: RunContext,
                     to_write: dict[str, int]) -> tuple[dict[str, str], datetime | None]:
        """The failed writes and when the CRM confirmed the rest. ``Stopped`` in a retry
        wait: nothing of the batch is recorded, the writes repeat next run (same values)."""
        outcome = ctx.crm.write_scores(to_write)
        written_at = ctx.clock.now()  # confirmed by now: its echo comes back before this
        failed = dict(outcome.failed)
        counts = ctx.report.counts
        counts["write_calls"] += outcome.calls
        counts["written"] += len(outcome.written)
        counts["write_failed"] += len(failed)
        for cid, reason in failed.items():
            ctx.report.errors.append(f"write of contact {cid} failed: {reason}")
        return failed, written_at

    def not_rescored(self, ctx: RunContext, ids: Sequence[str]) -> None:
        """Not re-tried in this run's rescoring pass (few: errors only)."""
        ctx.seen.update(ids)

    def save_batch(self, ctx: RunContext, batch: BatchRecord) -> None:
        """State, transitions, outbox entries and failed writes of one batch, in one
        transaction."""
        counts = ctx.report.counts
        with ctx.store.transaction() as tx:
            tx.save_contacts(batch.rows)
            tx.add_events(ctx.client, batch.events)
            if batch.transitions:
                tx.add_transitions(ctx.client, ctx.report.run_id, batch.transitions)
            for entry in batch.outbox:
                if tx.enqueue(entry):
                    counts["actions_enqueued"] += 1
                    if entry.status == "held" and not (entry.hold_reason or "").startswith(
                            FIRST_SYNC_HOLD):
                        counts["actions_held_model"] += 1
            if batch.failed:
                tx.add_failed_writes(ctx.client, {cid: (batch.to_write[cid], reason)
                                                  for cid, reason in batch.failed.items()})
            if settled := batch.settled():
                tx.clear_failed_writes(ctx.client, settled)
            for cid, reason in batch.skipped.items():
                tx.record_skipped(ctx.client, cid, reason, ctx.report.run_id)

    def save_bookmark(self, ctx: RunContext, at: datetime) -> None:
        ctx.store.set_bookmark(ctx.client, CONTACTS_STREAM, at)
        ctx.report.bookmark, ctx.report.bookmark_saved = at, True

    def clear_dirty(self, ctx: RunContext, ids: Sequence[str]) -> None:
        """The dirty marks of ``ids`` not newer than this run's start."""
        if ids:
            ctx.store.clear_dirty(ctx.client, ids, ctx.started)

    def send(self, ctx: RunContext) -> None:
        send_outbox(ctx)

    def pending_actions(self, ctx: RunContext) -> int:
        try:
            return len(ctx.store.outbox(ctx.client, ["pending"]))
        except ConnectorError:
            return 0


class DryEffects:
    """A dry run: nothing written, saved or sent; the report lists what would have been."""

    label = " (dry run)"
    keeps_capabilities = False

    def open_run(self, ctx: RunContext, kind: str) -> None:
        return None  # a dry run records no run

    def prepare(self, ctx: RunContext) -> None:
        ctx.report.planned.append(
            f"ensure score property {ctx.job.score_property.name!r} exists")

    def unprocessed(self, ctx: RunContext, contacts: Sequence[Contact],
                    previous: Mapping[str, StoredContact]) -> list[Contact]:
        """State is not saved, so the ids this run processed are remembered instead."""
        fresh = [c for c in contacts if c.id not in ctx.seen]
        ctx.seen.update(c.id for c in fresh)
        return fresh

    def write_scores(self, ctx: RunContext,
                     to_write: dict[str, int]) -> tuple[dict[str, str], datetime | None]:
        name = ctx.job.score_property.name
        for cid, value in to_write.items():
            ctx.report.planned.append(f"write {name}={value} to contact {cid}")
        return {}, None

    def not_rescored(self, ctx: RunContext, ids: Sequence[str]) -> None:
        return None  # every contact it processed is in ``seen`` already

    def save_batch(self, ctx: RunContext, batch: BatchRecord) -> None:
        for entry in batch.outbox:
            why = f", held: {entry.hold_reason}" if entry.status == "held" else ""
            if entry.status != "held" and entry.kind in ("invite", "unsubscribe"):
                ctx.report.counts[f"planned_{entry.kind}s"] += 1
            ctx.report.planned.append(f"{entry.kind} for contact {entry.contact_id} "
                                      f"({entry.dedupe_key}{why})")

    def save_bookmark(self, ctx: RunContext, at: datetime) -> None:
        return None

    def clear_dirty(self, ctx: RunContext, ids: Sequence[str]) -> None:
        return None

    def send(self, ctx: RunContext) -> None:
        preview_guard(ctx)

    def pending_actions(self, ctx: RunContext) -> int:
        return 0


def effects_for(dry_run: bool) -> Effects:
    return DryEffects() if dry_run else RealEffects()

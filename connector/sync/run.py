"""One run of one client's sync from start to end: the lease, the run's record in state,
the stages in order (``work``, then ``deliver``), and the run's outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from connector import logs, stopping
from connector.crm.detected import settle
from connector.errors import ConnectorError
from connector.sync import lease
from connector.sync.context import RunContext
from connector.sync.effects import effects_for
from connector.sync.job import Progress, SyncJob
from connector.sync.lease import holder_name
from connector.sync.report import SyncReport
from connector.sync.work import Targeted, sync_changed, sync_targeted

log = logging.getLogger("connector.sync")


def run_sync(job: SyncJob, *, full: bool = False, dry_run: bool = False,
             progress: Progress | None = None,
             contact_ids: Sequence[str] | None = None) -> SyncReport:
    """Run one sync of ``job.client``. Raises LeaseHeld when a live run holds the client;
    the lease of a run that is gone is taken over at once and that run marked interrupted.
    ``job.stop`` ends the run early: what is complete is saved, the report says what is
    left (its status is "interrupted"). ``dry_run``: nothing is written, saved or sent;
    the report lists what would have been.

    ``contact_ids``: a targeted sync of just these contacts (a webhook's dirty contacts):
    read by id, their engagement fetched, scored, written and acted on; the bookmark stays.
    With ``job.trust_dirty`` a scheduled (not full) sync is the targeted sync of the
    client's dirty contacts plus the rescoring of due contacts from state."""
    started = job.clock.now()
    targeted = Targeted(list(contact_ids), poll=False) if contact_ids is not None else None
    if targeted is None and job.trust_dirty and not full:
        targeted = Targeted(list(job.store.dirty_contacts(job.client)), poll=True)
    kind = "resync" if full else "sync"
    if targeted is not None:
        kind = "dirty-set sync" if targeted.poll else "targeted sync"
    effects = effects_for(dry_run)
    report = SyncReport(client=job.client, kind=kind + effects.label, started_at=started)
    ctx = RunContext(job, report, effects, progress or _no_progress, full=full)
    holder = holder_name()
    report.took_over = lease.acquire(job.store, job.client, holder, job.lease_seconds, started)
    try:
        job.store.interrupt_runs(job.client, started)
        with lease.Heartbeat(job.store, job.client, holder, job.lease_seconds, job.clock,
                             on_lost=job.stop.set) as heartbeat:
            _sync_holding_lease(ctx, kind, heartbeat, targeted)
    finally:
        lease.release(job.store, job.client, holder)
    return report


def _sync_holding_lease(ctx: RunContext, kind: str, heartbeat: lease.Heartbeat,
                        targeted: Targeted | None) -> None:
    report = ctx.report
    ctx.effects.open_run(ctx, kind)
    run_token = logs.run_var.set(report.run_id or "dry-run")
    client_token = logs.client_var.set(ctx.client)
    log.info("%s started", report.kind)
    try:
        try:
            with stopping.stoppable(ctx.stop):
                _stages(ctx, targeted)
        except stopping.Stopped:  # in a retry wait before the pull began
            ctx.stopped("start")
        _outcome(ctx, heartbeat)
    except KeyboardInterrupt:  # a second Ctrl-C: quit at once, but say so in the runs
        report.status = "interrupted"
        report.interrupted = True
        raise
    except ConnectorError as exc:
        report.status = "failed"
        report.errors.append(str(exc))
        raise
    except Exception as exc:  # record the failure, then let it surface
        report.status = "failed"
        report.errors.append(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _finish(ctx)
        logs.run_var.reset(run_token)
        logs.client_var.reset(client_token)


def _stages(ctx: RunContext, targeted: Targeted | None) -> None:
    # what the account can do: detected on the first sync and every full resync (kept in
    # state, changes reported), else as kept (connector/crm/detected.py)
    ctx.report.capabilities = settle(ctx.crm, ctx.store, ctx.client, detect=ctx.full,
                                     keep=ctx.effects.keeps_capabilities)
    ctx.effects.prepare(ctx)
    if targeted is not None:
        sync_targeted(ctx, targeted)
    else:
        sync_changed(ctx)


def _outcome(ctx: RunContext, heartbeat: lease.Heartbeat) -> None:
    report = ctx.report
    if heartbeat.lost:
        report.errors.append("another run took the client over (this run's lease "
                             "had expired); this run stopped")
    if report.interrupted:
        report.status = "interrupted"
        report.actions_pending = ctx.effects.pending_actions(ctx)
    else:
        report.status = ("partial" if report.counts["write_failed"] or report.all_errors
                         else "ok")


def _finish(ctx: RunContext) -> None:
    """The run's end, also when it failed: its report completed and recorded."""
    report = ctx.report
    report.finished_at = ctx.clock.now()
    report.degraded = list(dict.fromkeys(ctx.crm.notes.degraded))
    report.retried = dict(ctx.crm.retried())
    if report.run_id is not None and report.finished_at is not None:  # a dry run records none
        try:
            ctx.store.finish_run(report.run_id, report.status, report.finished_at,
                                 dict(report.counts), report.all_errors, report.as_dict())
        except Exception:  # the run's own outcome matters more than its bookkeeping
            log.exception("could not record the end of run %s", report.run_id)
    log.info("%s", report.summary())


def _no_progress(stage: str, n: int) -> None:
    return None

"""One run of one client's sync from start to end: the lease, the run's record in state,
the stages in order (``work``, then ``deliver``), and the run's outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from connector import logs, stopping
from connector.actions.deliver import settle_hint
from connector.crm.base import CRM
from connector.crm.detected import settle
from connector.errors import ConnectorError
from connector.sync import lease
from connector.sync.job import Progress, SyncJob
from connector.sync.lease import holder_name
from connector.sync.record import record_model
from connector.sync.report import SyncReport
from connector.sync.work import Targeted, stopped, sync_changed, sync_targeted

log = logging.getLogger("connector.sync")


def run_sync(job: SyncJob, *, full: bool = False, dry_run: bool = False,
             progress: Progress | None = None,
             contact_ids: Sequence[str] | None = None) -> SyncReport:
    """Run one sync of ``job.client``. Raises LeaseHeld when a live run holds the client;
    the lease of a run that is gone is taken over at once and that run marked interrupted.
    ``job.stop`` ends the run early: what is complete is saved, the report says what is
    left (its status is "interrupted").

    ``contact_ids``: a targeted sync of just these contacts (a webhook's dirty contacts):
    read by id, their engagement fetched, scored, written and acted on; the bookmark stays.
    With ``job.trust_dirty`` a scheduled (not full) sync is the targeted sync of the
    client's dirty contacts plus the rescoring of due contacts from state."""
    started = job.clock.now()
    kind = "resync" if full else "sync"
    targeted = Targeted(list(contact_ids), poll=False) if contact_ids is not None else None
    if targeted is None and job.trust_dirty and not full:
        targeted = Targeted(list(job.store.dirty_contacts(job.client)), poll=True)
    if targeted is not None:
        kind = "dirty-set sync" if targeted.poll else "targeted sync"
    report = SyncReport(client=job.client, kind=kind + (" (dry run)" if dry_run else ""),
                        started_at=started)
    holder = holder_name()
    report.took_over = lease.acquire(job.store, job.client, holder, job.lease_seconds, started)
    try:
        job.store.interrupt_runs(job.client, started)
        with lease.Heartbeat(job.store, job.client, holder, job.lease_seconds, job.clock,
                             on_lost=job.stop.set) as heartbeat:
            _sync_holding_lease(job, report, kind, heartbeat, full=full, dry_run=dry_run,
                                progress=progress or _no_progress, targeted=targeted)
    finally:
        lease.release(job.store, job.client, holder)
    return report


def _sync_holding_lease(job: SyncJob, report: SyncReport, kind: str,
                        heartbeat: lease.Heartbeat, *, full: bool, dry_run: bool,
                        progress: Progress, targeted: Targeted | None = None) -> None:
    started = report.started_at
    if not dry_run:
        report.run_id = job.store.start_run(job.client, kind, started)
    run_token = logs.run_var.set(report.run_id or "dry-run")
    client_token = logs.client_var.set(job.client)
    log.info("%s started", report.kind)
    try:
        try:
            with stopping.stoppable(job.stop):
                _run(job, report, full=full, dry_run=dry_run, progress=progress,
                     targeted=targeted)
        except stopping.Stopped:  # in a retry wait before the pull began
            stopped(job, report, "start", None, dry_run=dry_run)
        if heartbeat.lost:
            report.errors.append("another run took the client over (this run's lease "
                                 "had expired); this run stopped")
        if report.interrupted:
            report.status = "interrupted"
            report.actions_pending = 0 if dry_run else _pending_actions(job)
        else:
            report.status = ("partial" if report.counts["write_failed"] or report.all_errors
                             else "ok")
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
        report.finished_at = job.clock.now()
        report.degraded = list(dict.fromkeys(job.crm.notes.degraded))
        report.retried = _retried(job.crm)
        if report.run_id is not None:
            _finish_run(job, report)
        log.info("%s", report.summary())
        logs.run_var.reset(run_token)
        logs.client_var.reset(client_token)


def _run(job: SyncJob, report: SyncReport, *, full: bool, dry_run: bool,
         progress: Progress, targeted: Targeted | None = None) -> None:
    started = report.started_at
    # what the account can do: detected on the first sync and every full resync (kept in
    # state, changes reported), else as kept (connector/crm/detected.py)
    report.capabilities = settle(job.crm, job.store, job.client, detect=full,
                                 keep=not dry_run)
    if not dry_run:
        for entry in job.store.recover_interrupted(job.client, started):
            report.unknown_actions.append(
                f"{entry.kind} for contact {entry.contact_id} ({entry.dedupe_key}): outcome "
                "unknown after an interrupted run; " + settle_hint(job.client, entry)
            )
        job.crm.ensure_score_property(job.score_property)
        record_model(job, report)
    else:
        report.planned.append(f"ensure score property {job.score_property.name!r} exists")
    if targeted is not None:
        sync_targeted(job, report, targeted, dry_run=dry_run, progress=progress)
        return
    sync_changed(job, report, full=full, dry_run=dry_run, progress=progress)


def _pending_actions(job: SyncJob) -> int:
    try:
        return len(job.store.outbox(job.client, ["pending"]))
    except ConnectorError:
        return 0



def _finish_run(job: SyncJob, report: SyncReport) -> None:
    if report.run_id is None or report.finished_at is None:
        return  # a dry run records no run
    try:
        job.store.finish_run(report.run_id, report.status, report.finished_at,
                             dict(report.counts), report.all_errors, report.as_dict())
    except Exception:  # the run's own outcome matters more than its bookkeeping
        log.exception("could not record the end of run %s", report.run_id)


def _retried(crm: CRM) -> dict[str, int]:
    return dict(crm.retried())



def _no_progress(stage: str, n: int) -> None:
    return None


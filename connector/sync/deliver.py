"""Delivery at the end of a run: the run guard, the daily cap per salesperson, then the
outbox (``connector.actions.deliver``)."""

from __future__ import annotations

from dataclasses import replace

from connector.actions.capacity import apply_capacity
from connector.actions.deliver import deliver_pending
from connector.actions.guard import apply_guard, invites_over, unsubscribes_over
from connector.actions.left import LEFT_STATES, left_lines
from connector.sync.job import SyncJob
from connector.sync.report import SyncReport


def deliver(job: SyncJob, report: SyncReport, *, dry_run: bool) -> None:
    cfg = job.actions.client
    if dry_run:  # what the guard would hold, were the run real
        contacts = max(job.store.contact_count(job.client), report.counts["scored"])
        for reason in (invites_over(cfg.guard, report.counts["planned_invites"]),
                       unsubscribes_over(cfg.guard, report.counts["planned_unsubscribes"],
                                         contacts)):
            if reason:
                report.planned.append(f"{reason}: a real run would hold them")
        return
    now = job.clock.now()
    guard = apply_guard(job.store, job.client, cfg.guard, now)
    report.counts["actions_held_guard"] += guard.held_invites + guard.held_unsubscribes
    report.guard.extend(guard.notes)
    if cfg.invite.daily_cap_per_owner:
        capacity = apply_capacity(job.store, job.client, cfg.invite.daily_cap_per_owner, now)
        report.counts["invites_queued"] += capacity.queued
        report.counts["invites_dequeued"] += capacity.released
    # entries this run planned use the warm-up marker it pulled (``marker.pulled_marker``)
    delivery = deliver_pending(job.store, job.client, replace(job.actions, run_id=report.run_id),
                               now, stop=job.stop)
    report.counts["actions_sent"] += delivery.sent
    report.counts["actions_retrying"] += delivery.retrying
    report.counts["actions_failed"] += delivery.failed
    report.counts["actions_unknown"] += delivery.uncertain
    report.delivery_errors.extend(delivery.errors)
    if delivery.stopped:  # the message in flight was finished; the rest stay pending
        report.interrupted = True
    else:  # what waits for a retry or a person, this run's and earlier runs' alike
        report.left = left_lines(job.client, job.store.outbox(job.client, LEFT_STATES))



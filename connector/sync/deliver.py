"""Delivery at the end of a run: the run guard, the daily cap per salesperson, then the
outbox (``connector.actions.deliver``). Delivery stops between messages, never inside
one."""

from __future__ import annotations

from dataclasses import replace

from connector import stopping
from connector.actions.capacity import apply_capacity
from connector.actions.deliver import deliver_pending
from connector.actions.guard import apply_guard, invites_over, unsubscribes_over
from connector.actions.left import LEFT_STATES, left_lines
from connector.sync.context import RunContext


def deliver(ctx: RunContext) -> None:
    """The delivery stage: the run's effects send (a real run) or say what the guard would
    hold (a dry run)."""
    with stopping.unstoppable():
        ctx.effects.send(ctx)
    if ctx.stop.is_set():
        ctx.stopped("delivery")


def send_outbox(ctx: RunContext) -> None:
    """Hold mass actions, queue invites over the daily cap, deliver the rest."""
    cfg, report = ctx.config, ctx.report
    now = ctx.clock.now()
    guard = apply_guard(ctx.store, ctx.client, cfg.guard, now)
    report.counts["actions_held_guard"] += guard.held_invites + guard.held_unsubscribes
    report.guard.extend(guard.notes)
    if cfg.invite.daily_cap_per_owner:
        capacity = apply_capacity(ctx.store, ctx.client, cfg.invite.daily_cap_per_owner, now)
        report.counts["invites_queued"] += capacity.queued
        report.counts["invites_dequeued"] += capacity.released
    # entries this run planned use the warm-up marker it pulled (``marker.pulled_marker``)
    delivery = deliver_pending(ctx.store, ctx.client,
                               replace(ctx.job.actions, run_id=report.run_id), now,
                               stop=ctx.stop)
    report.counts["actions_sent"] += delivery.sent
    report.counts["actions_retrying"] += delivery.retrying
    report.counts["actions_failed"] += delivery.failed
    report.counts["actions_unknown"] += delivery.uncertain
    report.delivery_errors.extend(delivery.errors)
    if delivery.stopped:  # the message in flight was finished; the rest stay pending
        report.interrupted = True
    else:  # what waits for a retry or a person, this run's and earlier runs' alike
        report.left = left_lines(ctx.client, ctx.store.outbox(ctx.client, LEFT_STATES))


def preview_guard(ctx: RunContext) -> None:
    """A dry run: what the guard would hold, were the run real."""
    guard, report = ctx.config.guard, ctx.report
    contacts = max(ctx.store.contact_count(ctx.client), report.counts["scored"])
    for reason in (invites_over(guard, report.counts["planned_invites"]),
                   unsubscribes_over(guard, report.counts["planned_unsubscribes"], contacts)):
        if reason:
            report.planned.append(f"{reason}: a real run would hold them")

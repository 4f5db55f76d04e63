"""What a finished run leaves in the outbox: actions waiting for a retry, failed ones and
ones whose outcome is unknown, grouped by reason, each group with the contacts it concerns
and the `connector actions` command that settles it (the sync report prints these lines;
any of them makes `sync`/`resync` exit with status 5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connector.actions.deliver import actions_command, settle_hint
from connector.store.base import OutboxEntry

LEFT_STATES = ("unknown", "failed", "pending")  # in the order a person should look at them
NAMED = 5  # contacts (and ids in a command) named per line; the rest are counted


def left_lines(client: str, entries: Sequence[OutboxEntry]) -> list[str]:
    """One line per (state, kind, reason) among ``entries`` that are unknown, failed or
    pending, most urgent state first."""
    groups: dict[tuple[str, str, str], list[OutboxEntry]] = {}
    for entry in entries:
        if entry.status in LEFT_STATES:
            reason = entry.last_error or "not attempted yet"
            groups.setdefault((entry.status, entry.kind, reason), []).append(entry)
    ordered = sorted(groups.items(), key=lambda kv: LEFT_STATES.index(kv[0][0]))
    return [_line(client, status, kind, reason, group)
            for (status, kind, reason), group in ordered]


def _line(client: str, status: str, kind: str, reason: str,
          group: list[OutboxEntry]) -> str:
    ids = [e.id for e in group if e.id is not None]
    listing = f"`connector actions list --client {client} --status {status}`"
    if status == "pending":  # the cause matters here, not who: ids only
        nexts = [e.next_attempt_at for e in group if e.next_attempt_at is not None]
        when = f"next attempt {_when(min(nexts))}" if nexts else "sent by the next sync"
        return (f"waiting: {len(group)} {kind} action(s), not sent yet: {reason}; {when}, "
                f"retried by the next syncs until sent or failed ({_contacts(group, False)}; "
                f"see {listing})")
    what = f"{len(group)} {kind} action(s) for {_contacts(group, True)}"
    if status == "failed":
        fix = (_with_ids(client, "retry", ids) if len(ids) <= NAMED
               else actions_command(client, "retry", None, "--all-failed"))
        return f"failed: {what}, not sent: {reason}; once the cause is fixed, run {fix}"
    if len(group) == 1:
        return f"unknown: {what}, may have gone out: {reason}; " + settle_hint(client, group[0])
    return (f"unknown: {what}, may have gone out: {reason}; check each in the mailbox (their "
            f"keys: {listing}), then run `connector actions resolve --client {client} --id N "
            "--sent` if it arrived or `--not-sent` to send it again")


def _with_ids(client: str, verb: str, ids: list[int]) -> str:
    flags = [part for i in ids for part in ("--id", str(i))]
    return actions_command(client, verb, None, *flags)


def _contacts(group: list[OutboxEntry], who: bool) -> str:
    """The contacts of a group: ids, or (``who``) ids with name, email and outbox id."""
    named = ", ".join(_contact(e) if who else e.contact_id for e in group[:NAMED])
    more = f" and {len(group) - NAMED} more" if len(group) > NAMED else ""
    noun = "contact" if len(group) == 1 else "contacts"
    return f"{noun} {named}{more}"


def _contact(entry: OutboxEntry) -> str:
    """The contact id and who it is (name, email; "no email" when the CRM has none)."""
    payload = entry.payload or {}
    name = " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
    email = payload.get("email") or "no email"
    who = ", ".join(p for p in (name, email) if p)
    return f"{entry.contact_id} ({who}; outbox id {entry.id})"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")

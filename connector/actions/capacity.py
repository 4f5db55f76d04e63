"""A salesperson's daily invite capacity (``invite.daily_cap_per_owner``).

Before each delivery, every invite due today competes for its salesperson's capacity in
score order (highest first, then oldest): invites already sent today (UTC) count first; the
best of the rest are delivered, the others wait as "queued" until the next UTC midnight,
when they compete again with that day's new invites. A sales note waits with its invite.
Invites already tried (retrying after a not-sent answer) keep their place and count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from connector.actions.guard import warm_up_key
from connector.store.base import OutboxEntry, Store


@dataclass
class CapacityOutcome:
    queued: int = 0
    released: int = 0


def owner_of(entry: OutboxEntry) -> str:
    payload = entry.payload or {}
    return str(payload.get("owner_email") or payload.get("owner_id") or "-")


def queue_order(entries: list[OutboxEntry]) -> list[OutboxEntry]:
    """Highest score first, then the oldest entry."""
    return sorted(entries, key=lambda e: (-int((e.payload or {}).get("score") or 0),
                                          e.id or 0))


def apply_capacity(store: Store, client: str, cap: int, now: datetime) -> CapacityOutcome:
    """Queue the invites above each salesperson's ``cap`` for today; release queued ones
    that fit (in score order)."""
    day = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    tomorrow = day + timedelta(days=1)
    used = Counter(owner_of(e) for e in store.sent_since(client, "invite", day))
    entries = store.outbox(client, ["pending", "queued"])
    waiting: dict[str, list[OutboxEntry]] = defaultdict(list)
    for e in entries:
        if e.kind != "invite":
            continue
        if e.status == "pending" and e.attempts:
            used[owner_of(e)] += 1  # admitted already (retrying)
        elif e.status == "queued" or e.next_attempt_at is None or e.next_attempt_at <= now:
            waiting[owner_of(e)].append(e)
    notes = {warm_up_key(e): e for e in entries if e.kind == "notify"}
    outcome = CapacityOutcome()
    admit: list[int] = []
    queue: list[int] = []
    for owner, invites in waiting.items():
        room = max(cap - used[owner], 0)
        for i, e in enumerate(queue_order(invites)):
            ids = [x.id for x in (e, notes.get(warm_up_key(e))) if x is not None and x.id]
            if i < room:
                if e.status == "queued":
                    admit.extend(ids)
                    outcome.released += 1
            elif e.status == "pending" or e.next_attempt_at != tomorrow:
                queue.extend(ids)
                outcome.queued += 1
    if admit:
        store.set_outbox_status(client, admit, "pending", reason=None, next_attempt_at=None,
                                now=now)
    if queue:
        reason = f"invite.daily_cap_per_owner ({cap}) reached today"
        store.set_outbox_status(client, queue, "queued", reason=reason,
                                next_attempt_at=tomorrow, now=now)
    return outcome

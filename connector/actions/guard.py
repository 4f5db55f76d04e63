"""The run guard: a run that would send mass invites or unsubscribes holds them for a person.

Counted at delivery, over the entries no one has tried or released yet (so actions planned
by a run that stopped before delivering count with the next run's): more invites than
``guard.max_invites_per_run``, or more unsubscribes than ``guard.max_unsubscribe_share`` of
the client's contacts (and at least ``guard.min_unsubscribes``), and every such entry of
that kind is "held" (reason "guard") until `connector actions release`. A sales note waits
with its invite. Nothing of the run has been delivered when the guard looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connector.config import GuardConfig
from connector.store.base import OutboxEntry, Store


@dataclass
class GuardOutcome:
    held_invites: int = 0
    held_unsubscribes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def tripped(self) -> bool:
        return bool(self.held_invites or self.held_unsubscribes)


def warm_up_key(entry: OutboxEntry) -> str:
    """The warm-up an invite or note belongs to: ``<contact>:<episode>``."""
    return entry.dedupe_key.split(":", 1)[1]


def invites_over(guard: GuardConfig, invites: int) -> str | None:
    """Why ``invites`` in one run are too many (None: they are not)."""
    if invites <= guard.max_invites_per_run:
        return None
    return (f"guard: {invites} invites in one run, more than guard.max_invites_per_run "
            f"({guard.max_invites_per_run})")


def unsubscribes_over(guard: GuardConfig, unsubscribes: int, contacts: int) -> str | None:
    """Why ``unsubscribes`` of ``contacts`` in one run are too many (None: they are not)."""
    contacts = max(contacts, 1)
    if unsubscribes <= max(guard.max_unsubscribe_share * contacts, guard.min_unsubscribes):
        return None
    return (f"guard: {unsubscribes} unsubscribes in one run, {unsubscribes / contacts:.0%} of "
            f"{contacts} contacts, more than guard.max_unsubscribe_share "
            f"({guard.max_unsubscribe_share:.0%})")


def apply_guard(store: Store, client: str, guard: GuardConfig, now: datetime) -> GuardOutcome:
    """Hold this run's mass invites / unsubscribes; the outcome says what and why."""
    outcome = GuardOutcome()
    fresh = [e for e in store.outbox(client, ["pending"])
             if e.attempts == 0 and e.released_at is None and e.id is not None]
    invites = [e for e in fresh if e.kind == "invite"]
    if reason := invites_over(guard, len(invites)):
        warm_ups = {warm_up_key(e) for e in invites}
        notes = [e for e in fresh if e.kind == "notify" and warm_up_key(e) in warm_ups]
        store.set_outbox_status(client, [e.id for e in invites + notes if e.id is not None],
                                "held", reason=reason, next_attempt_at=None, now=now)
        outcome.held_invites = len(invites)
        outcome.notes.append(f"{reason}: held with their sales notes")
    unsubscribes = [e for e in fresh if e.kind == "unsubscribe"]
    if unsubscribes and (reason := unsubscribes_over(guard, len(unsubscribes),
                                                     store.contact_count(client))):
        store.set_outbox_status(client, [e.id for e in unsubscribes if e.id is not None],
                                "held", reason=reason, next_attempt_at=None, now=now)
        outcome.held_unsubscribes = len(unsubscribes)
        outcome.notes.append(f"{reason}: held")
    return outcome

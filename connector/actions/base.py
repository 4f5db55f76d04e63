"""Actions on transitions: what to enqueue (planning).

Planning happens inside the sync's transaction, delivery after it commits. The payload
carries everything delivery needs, so delivering never reads the CRM again (except the
CRM-side actions themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from connector.actions.context import ActionContext
from connector.actions.mail import usable_email
from connector.actions.marker import skips_warm_up
from connector.models import Contact, Event, Owner, ScoreResult, Transition, TransitionKind
from connector.store.base import OutboxEntry, StoredContact

log = logging.getLogger("connector.actions")

JOURNEY_STEPS = 15
CRM_NAMES = {"hubspot": "HubSpot", "activecampaign": "ActiveCampaign"}
NOT_FOUND = "is not found"


def plan_actions(change: Transition, result: ScoreResult, contact: Contact,
                 events: Sequence[Event], ctx: ActionContext,
                 previous: StoredContact | None = None) -> list[OutboxEntry]:
    """The outbox entries a transition calls for, keyed so a repeat is never enqueued.

    ``previous`` is the contact's state before this score (None: the state never saw it);
    with the CRM's warm-up marker it tells a warm-up already acted on (by this or an
    earlier deployment) from a new one (see ``connector.actions.marker``)."""
    cfg = ctx.client
    out: list[OutboxEntry] = []
    if skips_warm_up(change, contact, previous):
        log.info("contact %s is warm; no invite or note planned: %s (%s)", contact.id,
                 "already invited per CRM marker", contact.invited_at)
    elif change.kind is TransitionKind.BECAME_WARM:
        owner, crm_owner = _owner(contact, ctx)
        payload = _payload(change, result, contact, events, owner)
        payload["crm_owner"] = crm_owner
        episode = change.warm_episode
        if cfg.invite.enabled:
            out.append(OutboxEntry(cfg.name, contact.id, "invite",
                                   f"invite:{contact.id}:{episode}", payload))
        if cfg.notify.enabled:
            out.append(OutboxEntry(cfg.name, contact.id, "notify",
                                   f"notify:{contact.id}:{episode}", payload))
    elif change.kind is TransitionKind.HIT_FLOOR and cfg.unsubscribe.enabled:
        out.append(OutboxEntry(cfg.name, contact.id, "unsubscribe",
                               f"unsubscribe:{contact.id}:{result.scored_at.date()}",
                               {"contact_id": contact.id, "email": contact.email,
                                "score": result.total}))
    return out


def _owner(contact: Contact, ctx: ActionContext) -> tuple[Owner, dict[str, str] | None]:
    """Who the invite and note go out as: the contact's CRM owner, else ``owner_fallback``.
    When the contact has a CRM owner that cannot send (unknown to the CRM, or without a
    usable email) the second item says who that owner is and why, for the note to sales
    and the run's warnings; a contact without an owner is the fallback's, no warning."""
    owner = ctx.crm.get_owner(contact) if contact.owner_id else None
    if owner is not None and usable_email(owner.email):
        return owner, None
    fallback = ctx.client.owner_fallback
    stand_in = Owner(id="fallback", name=fallback.name, email=fallback.email)
    if not contact.owner_id:
        return stand_in, None
    crm = CRM_NAMES.get(ctx.crm.kind, ctx.crm.kind)
    if owner is None:
        problem = NOT_FOUND
    elif not owner.email:
        problem = "has no email address"
    else:
        problem = f"has no usable email address ({owner.email!r})"
    name = owner.name if owner is not None and owner.name != owner.email else ""
    return stand_in, {"id": owner.id if owner else contact.owner_id, "name": name or "",
                      "crm": crm, "problem": problem}


def owner_warning(payload: dict[str, Any]) -> str | None:
    """The run's warning when an invite or note goes out from ``owner_fallback`` because
    the contact's CRM owner cannot send (see ``_owner``); None otherwise."""
    crm_owner = payload.get("crm_owner")
    if not crm_owner:
        return None
    who = f"{crm_owner['crm']} owner {crm_owner['id']}"
    if crm_owner["name"]:
        who += f" ({crm_owner['name']})"
    fix = (f"assign the contacts to an existing owner in {crm_owner['crm']}"
           if crm_owner["problem"] == NOT_FOUND else
           f"give the owner an email address in {crm_owner['crm']} or assign the contacts "
           "to another owner")
    return (f"{who} {crm_owner['problem']} in {crm_owner['crm']}: invites and notes for "
            f"their contacts go out from owner_fallback {payload['owner_name']} "
            f"<{payload['owner_email']}> instead; fix: {fix}")


def _payload(change: Transition, result: ScoreResult, contact: Contact,
             events: Sequence[Event], owner: Owner) -> dict[str, Any]:
    fields = contact.fields
    interests = dict(sorted(result.interests.items(), key=lambda kv: -kv[1]))
    journey = sorted(events, key=lambda e: e.occurred_at, reverse=True)[:JOURNEY_STEPS]
    return {
        "contact_id": contact.id,
        "email": contact.email,
        "first_name": fields.get("first_name"),
        "last_name": fields.get("last_name"),
        "company": fields.get("company"),
        "job_title": fields.get("job_title"),
        "score": result.total,
        "tier": result.tier,
        "warm_episode": change.warm_episode,
        "planned_at": result.scored_at.isoformat(),
        "interests": interests,
        "top_interest": next(iter(interests), None),
        "explanation": [{"description": h.description, "points": h.points,
                         "evidence": list(h.evidence)[:5]} for h in result.explanation],
        "journey": [{"at": e.occurred_at.strftime("%Y-%m-%d %H:%M"), "type": str(e.type),
                     "what": e.url or e.name or e.email_id or ""} for e in journey],
        "owner_name": owner.name,
        "owner_email": owner.email,
        "owner_id": owner.id,
    }

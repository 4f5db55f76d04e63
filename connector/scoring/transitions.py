"""From the previous state and a new score to the transitions worth acting on (pure)."""

from __future__ import annotations

from connector.models import ContactState, ScoreResult, Transition, TransitionKind
from connector.scoring.rules import RulesModel


def transitions(previous: ContactState | None, result: ScoreResult,
                model: RulesModel) -> tuple[list[Transition], ContactState]:
    """The transitions from ``previous`` (None: never seen) to ``result``, and the new state.

    Each became-warm starts a new warm-up episode (1, 2, …); actions are keyed by it, so a
    lead that cools and warms again gets a new invite, and a repeat of the same sync never
    does. A contact first seen already warm counts as turning warm. Reaching the floor is a
    transition only when the model acts on it (``floor_action: unsubscribe``); with
    ``floor_action: none`` the contact just stays at the floor.
    """
    was_warm = previous.warm if previous else False
    was_floor = previous.at_floor if previous else False
    episode = previous.warm_episode if previous else 0
    out: list[Transition] = []
    from_tier = previous.tier if previous else None

    def add(kind: TransitionKind) -> None:
        out.append(Transition(kind=kind, contact_id=result.contact_id, score=result.total,
                              from_tier=from_tier, to_tier=result.tier,
                              warm_episode=episode))

    if result.warm and not was_warm:
        episode += 1
        add(TransitionKind.BECAME_WARM)
    elif was_warm and not result.warm:
        add(TransitionKind.LEFT_WARM)
    if previous is not None and previous.tier != result.tier:
        add(TransitionKind.TIER_CHANGED)
    if result.at_floor and not was_floor and model.floor_action == "unsubscribe":
        add(TransitionKind.HIT_FLOOR)
    state = ContactState(score=result.total, tier=result.tier, warm=result.warm,
                         at_floor=result.at_floor, warm_episode=episode)
    return out, state

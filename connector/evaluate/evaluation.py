"""One client's evaluation: the backtest, the current model, an optional what-if model,
optional learned weights, and today's top leads with their journeys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connector.errors import ConfigError
from connector.evaluate import dataset as ds
from connector.evaluate.learn import Learned, learn
from connector.evaluate.metrics import ModelReport, Objective, evaluate_model
from connector.models import Event
from connector.scoring import RulesModel
from connector.store.base import Store


@dataclass
class Lead:
    """A lead to call today, with the events that earned its points."""

    contact_id: str
    name: str
    email: str | None
    company: str | None
    score: int
    tier: str
    explanation: list[dict]
    events: list[Event]
    earned: dict[str, list[str]] = field(default_factory=dict)  # event id -> rules


@dataclass
class Evaluation:
    client: str
    data: ds.Dataset
    objective: Objective
    current: ModelReport
    other: ModelReport | None = None
    learned: Learned | None = None
    leads: list[Lead] = field(default_factory=list)

    @property
    def models(self) -> list[ModelReport]:
        return [m for m in (self.current, self.other) if m is not None]


def evaluate_client(store: Store, client: str, model: RulesModel, *,
                    other: RulesModel | None = None, other_name: str = "other",
                    as_of: datetime | None = None, horizon: timedelta = timedelta(days=30),
                    learn_weights: bool = False, objective: Objective = "f1",
                    top: int = 10) -> Evaluation:
    """Backtest ``model`` (and ``other``) on the client's contacts in state."""
    people = ds.from_store(store, client)
    if not people:
        raise ConfigError(f"no contacts in state for client {client!r}", field="--client",
                          fix=f"run `connector sync --client {client}` first")
    end = ds.data_end(people)
    if end is None:
        raise ConfigError(f"client {client!r} has no events or purchases in state",
                          field="--client", fix="sync again once contacts have activity")
    start, end = ds.split_dates(end, as_of, horizon)
    data = ds.build(people, start, end)
    if not data.cases:
        raise ConfigError(f"no contact existed before {start:%Y-%m-%d}", field="--as-of",
                          fix="pick a later --as-of or a shorter --horizon")
    result = Evaluation(client=client, data=data, objective=objective,
                        current=evaluate_model(model, data.cases, start,
                                               name=f"current ({model.name})",
                                               objective=objective))
    if other is not None:
        result.other = evaluate_model(other, data.cases, start, name=other_name,
                                      objective=objective)
    if learn_weights:
        result.learned = learn(model, data, objective=objective)
    result.leads = top_leads(store, client, top)
    return result


def top_leads(store: Store, client: str, limit: int) -> list[Lead]:
    """The highest current scores in state (customers left out), with their journeys."""
    rows = [s for s in store.top_contacts(client, limit * 3) if not s.is_customer][:limit]
    events = store.get_events(client, [s.contact_id for s in rows])
    leads = []
    for s in rows:
        earned: dict[str, list[str]] = {}
        for hit in s.explanation or []:
            for evidence in hit.get("evidence") or []:
                earned.setdefault(evidence, []).append(
                    f"{hit.get('description') or hit.get('rule_id')} ({hit['points']:+d})")
        f = s.fields or {}
        name = " ".join(p for p in (f.get("first_name"), f.get("last_name")) if p)
        leads.append(Lead(
            contact_id=s.contact_id, name=name or (s.email or s.contact_id), email=s.email,
            company=f.get("company"), score=s.total if s.total is not None else (s.score or 0),
            tier=s.tier, explanation=list(s.explanation or []),
            events=sorted(events.get(s.contact_id, []), key=lambda e: e.occurred_at),
            earned=earned))
    return leads

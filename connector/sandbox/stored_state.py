"""A state store filled in bulk with N synthetic stored contacts and their events, as a
sync would have left them (the sandbox population scored with the default rules), for
what reads state only: `connector rules preview` (its benchmark and tests).

``new_rules_text`` is a model change for it: warm at 20 instead of 30, and the contacts of
the "Ltd" companies down to the floor, so all three of the preview's lists fill.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from connector.models import Event
from connector.sandbox.population import Population
from connector.scoring import load_rules, score
from connector.store import open_store
from connector.store.base import StoredContact, StoredModel
from connector.sync.model_change import model_hash

RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "default.yaml"
CLIENT = "bench"
# warm at 20 instead of 30; and every contact at a "... Ltd" company to the floor
EXTRA_RULE = """\
  - id: rival
    description: Works at a rival
    field: company
    regex: 'Ltd$'
    points: -200
"""


def new_rules_text() -> str:
    text = RULES.read_text(encoding="utf-8")
    return (text.replace("name: default", "name: warm-at-20", 1)
            .replace("warm_at: 30", "warm_at: 20", 1)
            .replace("{name: warm, from: 30}", "{name: warm, from: 20}", 1) + EXTRA_RULE)


def stored_people(n: int, seed: int = 5,
                  ) -> Iterator[tuple[StoredContact, tuple[Event, ...]]]:
    """``n`` contacts of the sandbox population as a sync stores them: scored with the
    default rules at the population's moment, warm ones in their first warm-up."""
    population = Population(n, seed=seed)
    model = load_rules(RULES)
    current = model_hash(RULES.read_text(encoding="utf-8"))
    now = population.now
    for i in range(n):
        person = population.person(i)
        c = person.contact
        result = score(c, list(person.events), model, now)
        yield StoredContact(
            client=CLIENT, contact_id=c.id, email=c.email, score=result.total,
            tier=result.tier, warm=result.warm, at_floor=result.at_floor,
            warm_episode=1 if result.warm else 0, next_change_at=result.next_change_at,
            explanation_digest=None, explanation=[], interests=dict(result.interests),
            activity_signature=c.activity_signature, last_scored_at=now - timedelta(hours=1),
            updated_at_crm=c.updated_at, owner_id=c.owner_id, fields=dict(c.fields or {}),
            total=result.total, created_at_crm=c.created_at, model_hash=current), person.events


def fill(url: str, n: int, chunk: int = 5000) -> datetime:
    """Store ``n`` synthetic contacts and their events at ``url`` (bulk inserts of
    ``chunk`` contacts), and the default rules as the model that scored them; the
    population's moment, to preview at."""
    store = open_store(url)
    text = RULES.read_text(encoding="utf-8")
    store.save_model(StoredModel(client=CLIENT, hash=model_hash(text), name="default",
                                 source=str(RULES), rules_text=text), Population(0).now)
    contacts: list[StoredContact] = []
    events: list[Event] = []

    def flush() -> None:
        with store.transaction() as tx:
            tx.save_contacts(contacts)
            tx.add_events(CLIENT, events)
        contacts.clear()
        events.clear()

    for stored, evs in stored_people(n):
        contacts.append(stored)
        events.extend(evs)
        if len(contacts) >= chunk:
            flush()
    flush()
    return Population(0, seed=5).now


def client_yaml() -> str:
    return (f"name: {CLIENT}\ncrm: {{kind: hubspot, base_url: 'http://127.0.0.1:9', "
            f"token_env: BENCH_TOKEN}}\nrules: {RULES}\n"
            "owner_fallback: {name: A B, email: a@b.co}\n")



"""Warnings for rules that are valid but can never fire: they name an event type or a
contact field that no CRM adapter produces (``event: pageview``, ``field: jobtitle``).

Not errors: a custom event type can come from a JSON Lines file scored offline, and a
client's ``crm.field_map`` can add any field. The known names are the common vocabulary
of ``connector.models`` (event types, fit fields, tags) that every adapter fills, never
listed here; scoring knows no adapter, so a caller adds the fields a client's
``crm.field_map`` brings (``known_fields(extra)``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from connector.models import FIT_FIELDS, TAGS_FIELD, EventType
from connector.scoring.rules import RulesModel
from connector.scoring.rules_errors import line_of


@dataclass(frozen=True, slots=True)
class NameWarning:
    """One rule naming an event type or field nothing produces."""

    file: str
    line: int | None
    rule_id: str
    kind: str  # "event" or "field"
    name: str
    nearest: str | None
    known: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = "event type" if self.kind == "event" else "field"
        hint = (f"did you mean {self.nearest!r}?" if self.nearest
                else "known: " + ", ".join(self.known))
        if self.kind == "event":
            unless = "it fires only for events of that type in a JSON Lines file"
        else:
            unless = "ignore this if a client's crm.field_map adds it"
        return (f"{where}: rule {self.rule_id!r}: no CRM adapter produces {what} "
                f"{self.name!r}, so the rule never fires; {hint} ({unless})")


def known_event_types() -> tuple[str, ...]:
    """Every event type an adapter can produce: the common vocabulary."""
    return tuple(t.value for t in EventType)


def known_fields(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Every contact field an adapter fills (the common fit fields and tags), plus
    ``extra`` (clients' field maps)."""
    names = {*FIT_FIELDS, TAGS_FIELD, *extra}
    return tuple(sorted(names))


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (ignoring case), or None when none is close."""
    by_lower = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def unknown_names(model: RulesModel, source: str | Path, text: str | None = None, *,
                  events: Iterable[str] | None = None,
                  fields: Iterable[str] | None = None,
                  at: tuple = ("rules",)) -> list[NameWarning]:
    """Rules of ``model`` (read from ``source``; ``text`` its YAML, for line numbers) whose
    event type or field is unknown, in file order (``at``: where the rules list is in the
    file, e.g. ``("scores", "fit", "rules")``)."""
    known_events = set(known_event_types() if events is None else events)
    known_field_names = set(known_fields() if fields is None else fields)
    node = _compose(text)
    out: list[NameWarning] = []
    for index, rule in enumerate(model.rules):
        kind = rule.kind
        name = str(rule.event if kind == "event" else rule.field)
        known = known_events if kind == "event" else known_field_names
        if name in known:
            continue
        line = line_of(node, (*at, index, kind)) if node is not None else None
        out.append(NameWarning(str(source), line, rule.id, kind, name, nearest(name, known),
                               tuple(sorted(known))))
    return out


def _compose(text: str | None) -> yaml.Node | None:
    if text is None:
        return None
    try:
        return yaml.compose(text)
    except yaml.YAMLError:
        return None

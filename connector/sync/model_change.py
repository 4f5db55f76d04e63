"""Which transitions a model change causes rather than new behaviour.

The store keeps every model a client's syncs used (hash and YAML text). When a contact's
stored score came from another model than the one scoring it now, the previous model is
rebuilt and scores the same contact with the same events at the same moment: a transition
the previous model would NOT have made is the change's doing, so its actions are held for a
person (``on_model_change: hold``). A previous model that cannot be rebuilt (its text no
longer loads) counts every transition as the change's doing: holding is the safe side.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from hashlib import sha256

from connector.errors import RulesError
from connector.models import Contact, ContactState, Event, Transition, TransitionKind
from connector.scoring.engine import score
from connector.scoring.rules import RulesModel
from connector.scoring.rules_file import load_rules_text
from connector.scoring.transitions import transitions
from connector.store.base import Store

log = logging.getLogger("connector.sync")

# the transitions whose actions reach people (invite and note, unsubscribe)
ACTING = (TransitionKind.BECAME_WARM, TransitionKind.HIT_FLOOR)


def model_hash(rules_text: str) -> str:
    """The identity of a model: a hash of its YAML text."""
    return sha256(rules_text.encode("utf-8")).hexdigest()[:16]


class ModelChange:
    """Rebuilds a client's previous models from state (once each per sync)."""

    def __init__(self, store: Store, client: str, current_hash: str | None) -> None:
        self.store = store
        self.client = client
        self.current_hash = current_hash
        self._models: dict[str, tuple[RulesModel | None, str]] = {}
        self._same_as: dict[str, tuple[RulesModel, bool]] = {}

    def changed_for(self, stored_hash: str | None) -> bool:
        """True when a score from ``stored_hash`` was made by another recorded model."""
        return (self.current_hash is not None and stored_hash is not None
                and stored_hash != self.current_hash)

    def previous(self, stored_hash: str) -> tuple[RulesModel | None, str]:
        """The model of ``stored_hash`` and its label ("name (hash)"); None when it cannot
        be rebuilt."""
        if stored_hash not in self._models:
            record = self.store.get_model(self.client, stored_hash)
            label = f"{record.name} ({stored_hash})" if record else stored_hash
            model: RulesModel | None = None
            if record is not None:
                try:
                    model = load_rules_text(record.rules_text, record.source or label)
                except RulesError as exc:
                    log.warning("the previous model %s cannot be rebuilt (%s); every "
                                "transition it would judge is held", label, exc)
            self._models[stored_hash] = (model, label)
        return self._models[stored_hash]

    def _same(self, stored_hash: str, old: RulesModel, other: RulesModel) -> bool:
        """Whether the model of ``stored_hash`` equals ``other`` (compared once each)."""
        seen = self._same_as.get(stored_hash)
        if seen is None or seen[0] is not other:
            seen = self._same_as[stored_hash] = (other, old == other)
        return seen[1]

    # one contact's scoring inputs as the preview and the sync hold them (and the tests call)
    def caused_by_change(self, stored_hash: str | None,  # noqa: PLR0913
                         before: ContactState | None,
                         contact: Contact, events: Sequence[Event], now: datetime,
                         changes: Sequence[Transition],
                         known: tuple[RulesModel, Sequence[Transition]] | None = None,
                         ) -> tuple[set[TransitionKind], str]:
        """The acting transitions in ``changes`` that the previous model, scoring the same
        contact and events at ``now`` from the same state, would not have made; and the
        previous model's label. ``known``: a model and the transitions it makes here,
        already worked out (the preview's current model); when the previous model equals
        it, the contact is not scored again."""
        acting = {c.kind for c in changes if c.kind in ACTING}
        if not acting or before is None or not self.changed_for(stored_hash):
            return set(), ""
        assert stored_hash is not None
        old, label = self.previous(stored_hash)
        if old is None:
            return acting, label
        if known is not None and self._same(stored_hash, old, known[0]):
            return acting - {c.kind for c in known[1]}, label
        try:
            old_changes, _ = transitions(before, score(contact, events, old, now), old)
        except Exception:  # the old model cannot score this contact: hold (safe side)
            return acting, label
        return acting - {c.kind for c in old_changes}, label

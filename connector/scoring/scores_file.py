"""Reading a rules file of one score or several: :func:`load_model` validates either into a
:class:`~connector.scoring.scores.ScoringModel` (every problem a RulesError naming the file,
the line, the score, the rule, the field and the fix, as :func:`load_rules` does), and
:func:`model_warnings` lists what ``rules check`` warns about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from connector.scoring.conditions import always_holds, describe, walk
from connector.scoring.lint import NameWarning, unknown_names
from connector.scoring.rules_errors import line_of, translate
from connector.scoring.rules_file import load_rules_text, parse_rules, read_rules
from connector.scoring.scores import ScoresFile, ScoringModel


def load_model(path: str | Path) -> ScoringModel:
    """Load and validate a rules file: today's format (one score) or one with ``scores:``."""
    return load_model_text(read_rules(path), str(path))


def load_model_text(text: str, source: str = "<rules>") -> ScoringModel:
    """Validate a model given as YAML text (``source`` names it in errors)."""
    node, data = parse_rules(text, source)
    if "scores" not in data:
        return ScoringModel.from_rules(load_rules_text(text, source))
    try:
        return ScoringModel.from_file(ScoresFile.model_validate(data))
    except ValidationError as exc:
        raise translate(exc, node, data, source) from None


@dataclass(frozen=True, slots=True)
class ConditionWarning:
    """A score comparison in ``warm_when`` or ``floor_when`` that every contact passes."""

    file: str
    line: int | None
    where: str  # "warm_when" or "floor_when"
    condition: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (f"{place}: {self.where}: '{self.condition}' holds for every contact (it is "
                "at or beyond the score's range); drop it or give a number inside the range")


def model_warnings(model: ScoringModel, source: str | Path, text: str | None = None, *,
                   events: Iterable[str] | None = None, fields: Iterable[str] | None = None,
                   ) -> list[NameWarning | ConditionWarning]:
    """Rules naming event types or fields no CRM adapter produces (per score), and
    conditions that always hold, in file order."""
    if model.single is not None:
        return list(unknown_names(model.single, source, text, events=events, fields=fields))
    out: list[NameWarning | ConditionWarning] = []
    for name, rules in model.scores.items():
        out.extend(unknown_names(rules, source, text, events=events, fields=fields,
                                 at=("scores", name, "rules")))
    node = parse_rules(text, str(source))[0] if text is not None else None
    for key, root in (("warm_when", model.warm_when), ("floor_when", model.floor_when)):
        for cond, at in walk(root, (key,)) if root is not None else ():
            if always_holds(cond, model.scores):
                line = line_of(node, at) if node is not None else None
                out.append(ConditionWarning(str(source), line, key, describe(cond)))
    return out

"""Where a rules model is wrong, in words: a pydantic validation error becomes a
RulesError naming the YAML line, the rule, the field and the fix. The sheet import
(:mod:`connector.scoring.sheet`) and the rules lint place their messages the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from connector.errors import RulesError


class Misplaced(RulesError):
    """A whole-model check that failed at one place: ``loc`` points the error at it."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def translate(exc: ValidationError, node: yaml.Node | None, data: dict, source: str,
              ) -> RulesError:
    """The first problem of ``exc`` as a RulesError naming the line, the rule, the field and
    the fix (``node``: the YAML the data came from, for line numbers)."""
    errors = exc.errors()
    # an unknown key is usually a typo of a missing one: name the typo first
    err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    loc = error_loc(err)
    line = line_of(node, loc)
    where = [f"line {line}"] if line else []
    within: Any = data
    top = "(top level)"
    if len(loc) >= 2 and loc[0] == "scores" and isinstance(data.get("scores"), dict):
        where.append(f"score {loc[1]!r}")  # a file of several scores: loc is in one of them
        within, loc, top = data["scores"].get(loc[1]), loc[2:], "(the score)"
    field_path = ".".join(str(p) for p in loc if not isinstance(p, int)) or top
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = (within.get("rules") if isinstance(within, dict) else None) or []
        if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) and rules[loc[1]].get("id"):
            where.append(f"rule {rules[loc[1]]['id']!r}")
        field_path = ".".join(str(p) for p in loc[2:]) or "(the rule)"
    where.append(f"field {field_path!r}")
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    message, _, fix = message.partition("; fix: ")
    return RulesError(message, file=source, field=": ".join(where),
                      fix=fix or fix_for(err, loc))


def error_loc(err: Mapping[str, Any]) -> tuple:
    """Where a validation error is: pydantic's location, made precise for a whole-model
    check (warm_at, tier order, duplicate rule ids) by the place the check names."""
    loc = tuple(err.get("loc", ()))
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, Misplaced):
        loc = (*loc, *cause.loc)
    return loc


def fix_for(err: Mapping[str, Any], loc: tuple) -> str:
    """A fix for a validation error the check itself did not name one for."""
    kind = err.get("type", "")
    last = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return f"remove or rename {last!r}; see docs/rules.md for the allowed keys"
    if kind == "missing":
        return f"add {last!r}"
    if kind.startswith("int") or kind.startswith("float"):
        return f"give {last!r} as a number, e.g. 10"
    if kind.startswith("bool"):
        return f"give {last!r} as true or false"
    if kind.startswith("string") and "pattern" in kind:
        return "use letters, digits, '-', '_' or '.' in rule ids"
    if kind == "literal_error":
        return f"use one of the allowed values for {last!r}"
    if kind in ("list_type", "too_short"):
        return f"give {last!r} as a non-empty list"
    if kind == "greater_than_equal" or kind == "less_than":
        return f"change {last!r} to a value in the allowed range"
    msg = err.get("msg", "")
    if "duration" in msg:
        return "write durations with a unit, e.g. 14d, 2w or 36h"
    if "regular expression" in msg:
        return "fix the pattern (escape special characters with a backslash)"
    return "see docs/rules.md for the rule format"


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based YAML line of the value at ``loc`` (or of its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line

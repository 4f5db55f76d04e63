"""A grid: two scores make one cell, named by the row score's tier followed by the column
score's tier (fit tiers D..A x engagement tiers 4..1 give cells D4 .. A1). The cell is
written to its own CRM property, and conditions can test it (``{grid: [A1, A2]}``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.config.fields import PATTERN_TEXT, PROPERTY_NAME
from connector.scoring.rules import RulesModel
from connector.scoring.rules_errors import Misplaced


class Grid(BaseModel):
    """``rows`` and ``columns`` name two scores; ``property`` receives the cell."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)

    rows: str
    columns: str
    property_name: str = Field("connector_lead_grid", alias="property")
    description: str = ""

    @field_validator("property_name")
    @classmethod
    def _property(cls, value: str) -> str:
        return property_name(value)

    def check(self, scores: Mapping[str, RulesModel]) -> frozenset[str]:
        """Every cell of the grid; :class:`Misplaced` (at ``grid.KEY``) when the grid names
        a score the model lacks, one score twice, or two tier pairs give the same name."""
        for key in ("rows", "columns"):
            name = getattr(self, key)
            if name not in scores:
                raise Misplaced(("grid", key), f"no score named {name!r}; fix: use one of "
                                + ", ".join(scores))
        if self.rows == self.columns:
            raise Misplaced(("grid", "columns"), f"rows and columns are both {self.rows!r}; "
                            "fix: give the grid two different scores")
        seen: dict[str, tuple[str, str]] = {}
        for row in scores[self.rows].tiers:
            for column in scores[self.columns].tiers:
                cell = row.name + column.name
                if cell in seen:
                    raise Misplaced(("grid",), f"tiers {seen[cell]} and {(row.name, column.name)}"
                                    f" both make the cell {cell!r}; fix: rename tiers so that "
                                    "each pair makes its own cell name (e.g. letters for one "
                                    "score, digits for the other)")
                seen[cell] = (row.name, column.name)
        return frozenset(seen)

    def cell(self, tiers: Mapping[str, str]) -> str:
        """The cell of a contact whose tier per score is ``tiers``."""
        return tiers[self.rows] + tiers[self.columns]


def property_name(value: str) -> str:
    """``value`` when it is a usable CRM property name, else a ValueError with the fix."""
    if not re.match(PROPERTY_NAME, value):
        problem, fix = PATTERN_TEXT[PROPERTY_NAME]
        raise ValueError(f"{value!r} {problem}; fix: {fix}")
    return value

from __future__ import annotations

from pathlib import Path

import pytest

from connector.scoring import RulesModel, load_rules

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "config" / "rules" / "default.yaml"


@pytest.fixture(scope="session")
def default_model() -> RulesModel:
    return load_rules(DEFAULT_RULES)

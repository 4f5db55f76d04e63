"""The rules engine: a declarative model (YAML) and pure scoring functions."""

from connector.scoring.engine import score
from connector.scoring.rules import Rule, RulesModel
from connector.scoring.rules_file import load_rules, load_rules_text
from connector.scoring.transitions import transitions

__all__ = ["Rule", "RulesModel", "load_rules", "load_rules_text", "score", "transitions"]

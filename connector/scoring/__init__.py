"""The rules engine: a declarative model (YAML) and pure scoring functions.

A model of several named scores (fit, engagement, a grid, warm and floor conditions):
:func:`load_model` reads either format into a :class:`ScoringModel`, :func:`score_model`
scores it into a :class:`ModelResult` (for a one-score file, today's result)."""

from connector.scoring.engine import score
from connector.scoring.rules import Rule, RulesModel
from connector.scoring.rules_file import load_rules, load_rules_text
from connector.scoring.scores import ScoringModel
from connector.scoring.scores_engine import ModelResult, score_model
from connector.scoring.scores_file import load_model, load_model_text
from connector.scoring.transitions import transitions

__all__ = ["ModelResult", "Rule", "RulesModel", "ScoringModel", "load_model",
           "load_model_text", "load_rules", "load_rules_text", "score", "score_model",
           "transitions"]

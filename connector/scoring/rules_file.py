"""Reading and writing a rules YAML file: :func:`load_rules` validates one into a
:class:`~connector.scoring.rules.RulesModel` (every problem a RulesError naming the file,
the line, the rule, the field and the fix), :func:`save_rules` writes one back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connector.errors import RulesError
from connector.scoring.rules import RulesModel
from connector.scoring.rules_errors import translate


def rules_yaml(model: RulesModel, header: str | None = None) -> str:
    """The model as rules YAML that :func:`load_rules` reads back to an equal model."""
    dumped = model.to_yaml_dict()
    data: dict[str, Any] = {}
    for name in RulesModel.model_fields:
        if name in dumped:
            data[name] = dumped[name]
        elif getattr(model, name) is None:
            data[name] = None  # decay: null (left out, it would mean the default decay)
    top = f"# {header}\n" if header else ""
    return top + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_rules(model: RulesModel, path: str | Path, header: str | None = None) -> Path:
    """Write the model as a rules YAML file."""
    p = Path(path)
    p.write_text(rules_yaml(model, header), encoding="utf-8")
    return p


def load_rules(path: str | Path) -> RulesModel:
    """Load and validate a rules file; every problem is a RulesError naming file and fix."""
    return load_rules_text(read_rules(path), str(path))


def read_rules(path: str | Path) -> str:
    """The text of a rules file; a RulesError naming the file and the fix when unreadable."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError("file not found", file=str(p),
                         fix="check the path (relative paths start at the working "
                             "directory)") from None
    except IsADirectoryError:
        inside = sorted(f.name for f in p.glob("*.y*ml"))[:3]
        raise RulesError("this is a folder, not a rules file", file=str(p),
                         fix="give the path of one rules file, e.g. "
                             + (str(p / inside[0]) if inside else "config/rules/default.yaml")
                         ) from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"the file is not UTF-8 text (byte {exc.start} cannot be read)",
                         file=str(p), fix="save it as UTF-8 text") from None
    except OSError as exc:
        raise RulesError(f"cannot read the file: {exc.strerror or exc}", file=str(p),
                         fix="check that the file exists and that this user may read it"
                         ) from None


def parse_rules(text: str, source: str) -> tuple[yaml.Node | None, dict]:
    """The YAML of a rules file (its node, for line numbers, and its data); a RulesError
    naming the line when it is not YAML, or not a mapping."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RulesError(f"not valid YAML: {problem}", file=source, field=line,
                         fix="check indentation and quoting near that line") from None
    if not isinstance(data, dict):
        raise RulesError("the file must be a YAML mapping with a 'rules' list", file=source,
                         fix="start from config/rules/default.yaml")
    return node, data


def load_rules_text(text: str, source: str = "<rules>") -> RulesModel:
    """Validate rules given as YAML text (``source`` names it in errors)."""
    node, data = parse_rules(text, source)
    if "scores" in data and "rules" not in data:
        raise _several_scores(node, source)
    try:
        return RulesModel.model_validate(data)
    except ValidationError as exc:
        raise translate(exc, node, data, source) from None


def _several_scores(node: yaml.Node | None, source: str) -> RulesError:
    """A file of several scores given to a reader of one-score files (docs/rules.md)."""
    key = next((k for k, _ in getattr(node, "value", ()) if k.value == "scores"), None)
    return RulesError("this file declares several scores; the sync, rules check, preview, "
                      "evaluate and the spreadsheet read one-score files only for now",
                      file=source,
                      field=f"line {key.start_mark.line + 1}: field 'scores'" if key else None,
                      fix="give this client a one-score file such as "
                          "config/rules/default.yaml (docs/rules.md: several scores)")

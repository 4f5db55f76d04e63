"""Each broken rules file gets one clear line naming the file and the fix, exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.errors import RulesError
from connector.scoring import load_rules

BROKEN = sorted((Path(__file__).parent / "broken_rules").glob("*.yaml"))
_load_commands()


def test_the_corpus_has_at_least_30_files():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_file_is_rejected_with_file_and_fix(path):
    with pytest.raises(RulesError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    assert "(fix: " in message
    assert "\n" not in message


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_cli_prints_one_line_and_exits_2_without_traceback(path):
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 2
    out = result.output.strip()
    assert len(out.splitlines()) == 1, out
    assert "Traceback" not in out and path.name in out and "fix:" in out


def test_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output


def test_error_names_the_line_and_rule(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: ok\n    event: page_view\n    points: 1\n"
                    "  - id: typo\n    event: page_view\n    pionts: 3\n")
    with pytest.raises(RulesError, match=r"line 7: rule 'typo': field 'pionts'"):
        load_rules(path)


# --- errors of whole-model checks point at their own line, not the file's first key ------
DEFAULT = Path(__file__).parents[2] / "config" / "rules" / "default.yaml"


def _default_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """config/rules/default.yaml (three comment lines, then keys) with one line changed;
    returns the file and the 1-based number of the changed line."""
    lines = DEFAULT.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if line.startswith(old))
    lines[number - 1] = new + "\n"
    path = tmp_path / "rules.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path, number


def test_warm_at_out_of_range_names_the_warm_at_line(tmp_path):
    path, line = _default_with(tmp_path, "warm_at:", "warm_at: 150")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert f"{path}: line {line}: field 'warm_at': warm_at 150 is outside the range" \
        in str(info.value)
    assert "(fix: set warm_at to a score above -30 and at most 100)" in str(info.value)


def test_tier_order_names_the_tier_and_its_line(tmp_path):
    path, line = _default_with(tmp_path, "  - {name: hot,", "  - {name: hot, from: 20}")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert (f"line {line}: field 'tiers.from': tier 'hot' starts at 20, not above tier "
            f"'warm' (30)") in str(info.value)
    assert "fix: order tiers from cold to hot" in str(info.value)


def test_duplicate_rule_id_names_the_second_rule_line(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8")
    first = re.search(r"^  - id: (\S+)$", text, re.MULTILINE)
    second = re.search(r"^  - id: (\S+)$", text[first.end():], re.MULTILINE)
    assert first and second
    path, line = _default_with(tmp_path, f"  - id: {second.group(1)}",
                               f"  - id: {first.group(1)}")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert (f"line {line}: rule {first.group(1)!r}: field 'id': rule id "
            f"{first.group(1)!r} is used twice (rule 1 and rule 2 of the list)"
            ) in str(info.value)
    assert "(fix: rename one of them)" in str(info.value)


def test_a_folder_given_as_rules_file_is_told_so(tmp_path):
    (tmp_path / "default.yaml").write_text(DEFAULT.read_text(encoding="utf-8"))
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert f"{tmp_path}: this is a folder, not a rules file" in out
    assert f"fix: give the path of one rules file, e.g. {tmp_path / 'default.yaml'}" in out
    assert "UTF-8" not in out

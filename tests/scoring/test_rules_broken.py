"""Each broken rules file gets one clear line naming the file and the fix, exit 2."""

from __future__ import annotations

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

"""The offline commands a marketer runs: rules check, score, explain."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import _load_commands, app

ROOT = Path(__file__).resolve().parents[2]
RULES = str(ROOT / "config" / "rules" / "default.yaml")
SAMPLE = str(ROOT / "config" / "sample" / "contacts.jsonl")
NOW = "2026-11-01T00:00:00Z"
_load_commands()
runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("connector ")


def test_rules_check_accepts_the_default_model():
    result = runner.invoke(app, ["rules", "check", RULES])
    assert result.exit_code == 0 and "ok" in result.output


def test_score_ranks_the_sample_population_as_json():
    result = runner.invoke(app, ["score", "--rules", RULES, "--now", NOW, "--json", SAMPLE])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.output)
    assert len(ranked) == 40
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert any(r["warm"] for r in ranked) and any(not r["warm"] for r in ranked)
    for r in ranked:
        assert sum(h["points"] for h in r["explanation"]) == r["raw"]


def test_score_table_shows_the_top_contact_first():
    as_json = json.loads(runner.invoke(
        app, ["score", "--rules", RULES, "--now", NOW, "--json", SAMPLE]).output)
    table = runner.invoke(app, ["score", "--rules", RULES, "--now", NOW, SAMPLE]).output
    assert "40 contacts scored" in table
    assert as_json[0]["id"] in table.split("\n", 5)[-1]


def test_explain_lists_every_point_and_why():
    ranked = json.loads(runner.invoke(
        app, ["score", "--rules", RULES, "--now", NOW, "--json", SAMPLE]).output)
    top = ranked[0]
    result = runner.invoke(app, ["explain", "--rules", RULES, "--now", NOW, SAMPLE, top["id"]])
    assert result.exit_code == 0, result.output
    assert f"{top['score']} points" in result.output
    assert "evidence" in result.output


def test_explain_unknown_contact_is_a_clear_error():
    result = runner.invoke(app, ["explain", "--rules", RULES, SAMPLE, "no-such-id"])
    assert result.exit_code == 2 and "no contact with id" in result.output


def test_bad_jsonl_names_file_and_line(tmp_path):
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"id": "1", "events": []}\n{not json}\n')
    result = runner.invoke(app, ["score", "--rules", RULES, str(bad)])
    assert result.exit_code == 2
    assert "c.jsonl" in result.output and "line 2" in result.output

"""A state URL or an output path that cannot work: one clear line (setting or file, fix)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app

_load_commands()
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules" / "default.yaml"


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def empty_config(tmp_path, monkeypatch):
    folder = tmp_path / "clients"
    folder.mkdir()
    monkeypatch.setenv("CONNECTOR_CONFIG_DIR", str(folder))
    return tmp_path


@pytest.mark.parametrize(("url", "says"), [
    ("notaurl", "'notaurl' is not a database URL"),
    ("mysql://app:hunter2@db.example.com/connector", "mysql databases are not supported"),
    ("postgresql+asyncpg://app:hunter2@db/connector", "driver 'asyncpg' is not supported"),
    ("sqlite:////tmp", "/tmp is a folder, not a SQLite file"),
])
def test_unusable_state_urls_are_one_line(empty_config, monkeypatch, url, says):
    monkeypatch.setenv("CONNECTOR_STATE_URL", url)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    line = one_line(result)
    assert "CONNECTOR_STATE_URL" in line and says in line and "fix:" in line
    assert "hunter2" not in line


def test_postgresql_without_the_driver_names_the_extra(empty_config, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    monkeypatch.setenv("CONNECTOR_STATE_URL", "postgresql://root@127.0.0.1:5432/test")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    line = one_line(result)
    assert "CONNECTOR_STATE_URL" in line and "psycopg" in line
    assert "pip install 'connector[postgres]'" in line


def test_a_sqlite_folder_that_cannot_be_created_is_one_line(empty_config, monkeypatch):
    blocker = empty_config / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("CONNECTOR_STATE_URL", f"sqlite:///{blocker / 'state' / 'x.db'}")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    line = one_line(result)
    assert "CONNECTOR_STATE_URL" in line and f"cannot create the folder {blocker}" in line


@pytest.mark.parametrize("args", [
    ["rules", "export", str(RULES), "--out", "{missing}/model.xlsx"],
    ["rules", "import", str(RULES.with_suffix(".xlsx")), "--out", "{missing}/rules.yaml"],
    ["evaluate", "--client", "acme", "--html", "{missing}/report.html"],
    ["evaluate", "--client", "acme", "--export-learned", "{missing}/learned.yaml"],
    ["rules", "preview", str(RULES), "--client", "acme", "--html", "{missing}/preview.html"],
])
def test_an_output_path_in_a_missing_folder_is_one_line_before_any_work(empty_config, args):
    missing = empty_config / "no" / "such" / "dir"
    result = runner.invoke(app, [a.format(missing=missing) for a in args])
    assert result.exit_code == 2
    line = one_line(result)
    assert f"the folder {missing} does not exist" in line
    assert f"mkdir -p {missing}" in line
    assert not missing.exists()


def test_an_output_path_under_a_file_is_one_line(empty_config):
    blocker = empty_config / "report.html"
    blocker.write_text("a file, not a folder")
    for args in (["demo", "--contacts", "10", "--state", f"{blocker}/demo.db"],
                 ["rules", "export", str(RULES), "--out", f"{blocker}/model.csv"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert f"{blocker} is a file, not a folder" in one_line(result)

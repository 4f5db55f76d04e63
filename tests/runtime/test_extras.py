"""A sync worker installs only the package: optional parts name the extra they need."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import _load_commands, app, extras

_load_commands()
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules" / "default.yaml"
OPTIONAL = ("werkzeug", "aiosmtpd", "numpy", "sklearn", "openpyxl")

# Runs the CLI with the optional modules unimportable, as in a venv with `pip install .`
_BLOCKED = f"""
import sys
from importlib.abc import MetaPathFinder

class Block(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {OPTIONAL!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, Block())
from connector.cli import main
sys.argv = ["connector", *sys.argv[1:]]
main()
"""


def _run_without_extras(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCKED, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_the_core_dependencies_leave_the_optional_stack_out():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert not [name for name in ("werkzeug", "aiosmtpd", "numpy", "scikit", "openpyxl")
                if name in core]
    optional = project["optional-dependencies"]
    for extra, modules in extras.EXTRAS.items():  # the hint's lists match pyproject's
        pins = " ".join(optional[extra]).lower()
        assert all(m.replace("sklearn", "scikit-learn") in pins for m in modules), extra


def test_sync_and_rules_check_work_without_the_extras():
    sync = _run_without_extras("sync", "--help")
    assert sync.returncode == 0, sync.stderr
    check = _run_without_extras("rules", "check", str(RULES))
    assert check.returncode == 0, check.stderr
    assert "ok: 22 rules" in check.stdout


def test_demo_without_its_extra_says_which_extra_to_install():
    demo = _run_without_extras("demo")
    assert demo.returncode == 2
    assert demo.stderr.strip().splitlines() == [
        "error: this needs the optional dependencies [demo] (werkzeug, aiosmtpd not "
        "installed); fix: pip install 'connector[demo]' (in a checkout: pip install -e "
        "'.[demo]')"]
    assert "Traceback" not in demo.stderr + demo.stdout


def test_a_missing_module_inside_a_command_names_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now fails
    result = CliRunner().invoke(app, ["rules", "export", str(RULES), "--out",
                                      str(tmp_path / "rules.xlsx")])
    assert result.exit_code == 2
    assert "pip install 'connector[sheet]'" in result.output
    assert not (tmp_path / "rules.xlsx").exists()

"""The package's layout stays what the README shows and what issue 23 set as its size rules.

The README's map of the code (the block under "How a sync works" that starts with
``connector/``) names every package and top-level module of ``connector/``, and nothing that
is gone, so it cannot go stale. ``connector/`` keeps at most six top-level modules
(``__init__.py`` counted) beside its packages, and no module is over 400 lines except the
two sandbox servers, which mimic a whole vendor API each.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "connector"
README = ROOT / "README.md"

MAX_TOP_LEVEL_MODULES = 6
MAX_LINES = 400
LONGER_ALLOWED = {"connector/sandbox/hubspot.py", "connector/sandbox/activecampaign.py"}

# one map line: two spaces, then a package (`name/`) or a module (`name.py`), then its job
MAP_ENTRY = re.compile(r"^  (?P<name>[\w.]+/?)\s{2,}\S")


def _readme_map() -> list[str]:
    """The entries the README's map names, in its order."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```[a-z]*\nconnector/\n(?P<body>.*?)^```", text, re.M | re.S)
    assert block, "README.md has no map of the code (a fenced block starting with connector/)"
    return [m["name"] for line in block["body"].splitlines() if (m := MAP_ENTRY.match(line))]


def _top_level_entries() -> set[str]:
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.name for p in PACKAGE.glob("*.py")}
    return packages | modules


def test_readme_map_names_every_package_and_top_level_module() -> None:
    named = _readme_map()
    assert len(named) == len(set(named)), f"the README map names an entry twice: {named}"
    actual = _top_level_entries()
    assert not actual - set(named), (
        f"the README map (How a sync works) misses {sorted(actual - set(named))}: "
        "add a line each saying its job")
    assert not set(named) - actual, (
        f"the README map names {sorted(set(named) - actual)}, which connector/ no longer has")


def test_connector_has_at_most_six_top_level_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, (
        f"connector/ has {len(modules)} top-level modules {modules}: at most "
        f"{MAX_TOP_LEVEL_MODULES} (__init__.py included); the rest belong in packages")


def test_no_module_is_over_400_lines_except_the_sandbox_servers() -> None:
    too_long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and name not in LONGER_ALLOWED:
            too_long[name] = lines
    assert not too_long, f"modules over {MAX_LINES} lines (split them by job): {too_long}"

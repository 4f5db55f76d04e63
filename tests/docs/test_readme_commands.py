"""Every command the README shows runs as written (issue 22, item 8).

The README's shell blocks and the complete commands in its prose (inline code that starts
like a command and has no placeholder such as NAME, FILE, ``...`` or ``[--opt]``) are run
in README order, in one shell session (exports and the working directory carry over), in a
temporary copy of the repository whose ``.venv`` is the virtual environment running this
test. `connector sandbox` is started in the background where the README starts it (with a
small population) and stopped at the end.

A command is run unless SKIP below names it, with the reason: so a command added to the
README is run by default, and one the test cannot run fails here with its output and this
hint, never passes unnoticed. The test prints what it ran, skipped and left as templates.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from ..e2e.sandbox_process import READY, SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV = Path(sys.prefix)

SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
# inline code that is a command: optional `VAR=value ` prefixes, then a program and at
# least one argument (a program's bare name, `connector`, is the name of the tool)
COMMAND = re.compile(r"^(?:(?:[A-Z][A-Z0-9_]*=\S+\s+)*(?:\.venv/bin/)?"
                     r"(?:connector|pip|python3?|ruff|mypy|pytest)|export|\.)\s+\S")
# what the reader fills in: NAME, FILE, ID, N, `...`, [--option], a|b, <client>
PLACEHOLDER = re.compile(r"\.\.\.|[\[\]|<>]|(?<![$\w])[A-Z][A-Z0-9_]*(?![\w=])")

FOREVER = "runs until stopped (Ctrl-C/SIGTERM): tests/runtime, tests/queue and tests/web run it"
MENTION = ("names the command in prose: it needs --client (or --id), which the README's full "
           "invocations of it give, and those are run")
INSTALL = "installs packages: the test's virtual environment (.venv here) already has every extra"
SYSTEM = "changes the machine (packages, services, databases, containers)"
SUITE = ("the test suite, type check and layer contracts run in CI (.ci/run) on their own, "
         "not inside a test")
BENCH = "a benchmark: minutes to hours of load on the machine"
QUEUE = ("needs the database `connector` on PostgreSQL and a Redis the test does not own; "
         "tests/queue runs the workers")

# command as written (comment and `&&` split off) -> why the test does not run it
SKIP: dict[str, str] = {
    "python3 -m venv .venv": "the test's virtual environment stands in (.venv links to it)",
    ".venv/bin/pip install -q -e '.[demo]'": INSTALL,
    ".venv/bin/pip install -q -e '.[test]'": INSTALL,
    ".venv/bin/pip install -e '.[queue]'": INSTALL,
    ".venv/bin/pip install -e '.[serve]'": INSTALL,
    "pip install .": INSTALL,
    ".venv/bin/mypy": SUITE,
    ".venv/bin/lint-imports": SUITE,
    ".venv/bin/pytest -q": SUITE,
    ".venv/bin/pytest -q -s tests/web": SUITE,
    ".venv/bin/python tests/fidelity/check.py": SUITE + "; it builds its own virtual "
                                                 "environments with pip (minutes)",
    ".venv/bin/pytest -q -s tests/queue/test_queue_webhooks.py -k event": SUITE,
    "connector run": FOREVER,
    "connector worker": FOREVER,
    "connector serve": FOREVER,
    "connector serve --queue": FOREVER,
    "connector sandbox": "names the command; its full invocation is started in the background",
    ".venv/bin/connector run": FOREVER,
    ".venv/bin/connector serve --host 0.0.0.0 --port 8080 "
    "--public-url https://hooks.example-agency.com": FOREVER,
    "connector sync": MENTION,
    "connector resync": MENTION,
    "connector evaluate": MENTION,
    "connector actions": MENTION,
    "connector doctor": MENTION,
    "connector actions list --status held": MENTION,
    "connector actions release": MENTION,
    "connector actions discard": MENTION,
    "connector actions resolve": MENTION,
    "connector actions retry": MENTION,
    "sudo apt-get install -y redis-server postgresql": SYSTEM,
    "sudo systemctl start redis-server postgresql": SYSTEM,
    'sudo -u postgres createuser --superuser "$USER"': SYSTEM,
    "createdb connector": SYSTEM,
    "docker run -d --name redis -p 6379:6379 redis:7": SYSTEM,
    "docker run -d --name pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust "
    "-e POSTGRES_DB=connector postgres:16": SYSTEM,
    "export CONNECTOR_STATE_URL=postgresql+psycopg://$USER@127.0.0.1:5432/connector": QUEUE,
    "export CONNECTOR_QUEUE_URL=redis://127.0.0.1:6379/0": QUEUE,
    ".venv/bin/connector worker &": QUEUE,
    ".venv/bin/connector run --now": QUEUE,
    "connector run --queue": "names the option; the block above gives it its value (and is "
                             "skipped: " + QUEUE + ")",
    "python -m benchmarks": BENCH,
    "python -m benchmarks --only resync --crm hubspot --sizes 10000,100000": BENCH,
    "python -m benchmarks --only resync --crm activecampaign --sizes 10000 --scale-window "
    "--scale 2": BENCH,
    "python -m benchmarks.memory_probe 100000 --crm hubspot": BENCH,
    "python -m benchmarks.memory_probe 100000 --crm activecampaign": BENCH,
    "python -m benchmarks.memory_probe 100000 --crm activecampaign --in-memory": BENCH,
    "python -m benchmarks --only preview": BENCH,
    "python -m benchmarks --only preview --sizes 20000,200000": BENCH,
    "python -m benchmarks --only preview --sizes 100000,1000000": BENCH,
}
# started in the background where the README shows it, with these arguments added
BACKGROUND: dict[str, tuple[str, ...]] = {
    "connector sandbox --crm both --smtp": ("--contacts", "40"),  # a first sync in seconds
}
COMMAND_TIMEOUT = 300  # s; a README command that takes longer is reported as not finishing
TIMED_OUT = -1
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__",
                                     ".mypy_cache", ".ruff_cache", "*.db", "*.db-*",
                                     "*.xlsx", "*.html")


@dataclass
class Command:
    text: str
    line: int
    inline: bool

    def where(self) -> str:
        return f"README.md:{self.line}" + (" (inline)" if self.inline else "")


def readme_commands(text: str) -> tuple[list[Command], list[Command]]:
    """The commands of README ``text`` in order, and the inline templates (placeholders)."""
    lines = text.splitlines()
    commands: list[Command] = []
    templates: list[Command] = []
    md = MarkdownIt("commonmark").enable("table")
    for token in md.parse(text):
        if token.type == "fence" and token.info.strip() in SHELL_BLOCKS and token.map:
            number, pending = token.map[0] + 2, ""  # the line after the fence, 1-based
            for offset, raw in enumerate(token.content.splitlines()):
                if not pending:
                    number = token.map[0] + 2 + offset
                if raw.endswith("\\"):  # continued on the next line
                    pending += raw[:-1] + " "
                    continue
                line = re.sub(r"(^|\s)#.*$", "", pending + raw).strip()
                pending = ""
                for part in filter(None, (p.strip() for p in line.split(" && "))):
                    commands.append(Command(part, number, inline=False))
        elif token.type == "inline" and token.children and token.map:
            for child in token.children:
                code = child.content.strip()
                if child.type != "code_inline" or not COMMAND.match(code):
                    continue
                start = token.map[0]
                number = next((start + i + 1 for i, src in enumerate(lines[start:token.map[1]])
                               if f"`{child.content}`" in src.replace("\\|", "|")), start + 1)
                found = Command(code, number, inline=True)
                (templates if PLACEHOLDER.search(code) else commands).append(found)
    return commands, templates


def _normal(text: str) -> str:
    return text.removeprefix(".venv/bin/")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of the repository; its .venv is the one running this test."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    (copy / ".venv").symlink_to(VENV, target_is_directory=True)
    return copy


class Shell:
    """One shell session, as a user's terminal: exports and `cd` carry over."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        state = cwd.parent / "shell"
        state.mkdir()
        self.env_file, self.pwd_file = state / "env", state / "pwd"
        bindir = str(VENV / "bin")
        path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                               if p != bindir)  # `connector` is found once the README says
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CONNECTOR_", "VIRTUAL_ENV", "PYTEST_"))}
        self.env.update(PATH=path, COLUMNS="200", HOME=str(cwd.parent))

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        script = (f"{command}\n__rc=$?\nenv -0 > {self.env_file}\npwd > {self.pwd_file}\n"
                  "exit $__rc\n")
        proc = subprocess.Popen(["bash", "-c", script], cwd=self.cwd, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:  # stop it and whatever it started
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return subprocess.CompletedProcess(command, TIMED_OUT, out, err)
        result = subprocess.CompletedProcess(command, proc.returncode, out, err)
        if self.env_file.exists():
            pairs = self.env_file.read_bytes().decode().split("\0")
            self.env = dict(p.split("=", 1) for p in pairs if "=" in p)
            self.cwd = Path(self.pwd_file.read_text().strip())
        return result

    def background(self, command: str) -> SandboxProcess:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return SandboxProcess(proc)


def test_readme_extraction_runs_prose_commands_and_leaves_templates():
    text = ("Run `connector status` or `connector sync --client NAME`.\n\n"
            "```bash\nexport A=1 && connector demo   # first\n\n# note\nconnector leads \\\n"
            "  --client x\n```\n\n| a | b |\n|---|---|\n| `connector rules check FILE` | c |\n")
    commands, templates = readme_commands(text)
    assert [(c.text, c.line, c.inline) for c in commands] == [
        ("connector status", 1, True), ("export A=1", 4, False),
        ("connector demo", 4, False), ("connector leads    --client x", 7, False)]
    assert [c.text for c in templates] == ["connector sync --client NAME",
                                           "connector rules check FILE"]


def test_a_readme_command_that_fails_hangs_or_crashes_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "COMMAND_TIMEOUT", 2)
    (tmp_path / "repo").mkdir()
    commands = [Command("export GREETING=hi", 1, False), Command("test $GREETING = hi", 2, False),
                Command("connector-that-is-not-installed --x", 3, False),
                Command("sleep 30", 4, False),
                Command("echo 'Traceback (most recent call last):' >&2", 5, True)]
    report, failures = _run_in_order(commands, Shell(tmp_path / "repo"))
    assert [line.split(":")[0].split()[0] for line in report] == ["ran"] * 5
    assert failures[0].startswith("README.md:3: `connector-that-is-not-installed --x` exited "
                                  "127 (command not found")
    assert failures[1].startswith("README.md:4: `sleep 30` exited -1 (did not finish in 2 s")
    assert failures[2].startswith("README.md:5 (inline):") and "with a traceback" in failures[2]
    assert all("add it to SKIP" in failure for failure in failures) and len(failures) == 3


def _run_in_order(commands: list[Command], shell: Shell) -> tuple[list[str], list[str]]:
    """Run ``commands`` as SKIP and BACKGROUND say: what happened to each, and failures."""
    in_blocks = {_normal(c.text) for c in commands if not c.inline}
    report: list[str] = []
    failures: list[str] = []
    background: list[SandboxProcess] = []
    try:
        for cmd in commands:
            if cmd.text in SKIP:
                report.append(f"skipped  {cmd.where()}: {cmd.text}  ({SKIP[cmd.text]})")
                continue
            if cmd.inline and _normal(cmd.text) in in_blocks:
                report.append(f"in block {cmd.where()}: {cmd.text}  (run where the block has it)")
                continue
            if cmd.text in BACKGROUND:
                line = " ".join([cmd.text, *BACKGROUND[cmd.text]])
                box = shell.background(line)
                background.append(box)
                box.wait_for(READY)
                report.append(f"started  {cmd.where()}: {line}  (in the background)")
                continue
            result = shell.run(cmd.text)
            report.append(f"ran      {cmd.where()}: {cmd.text}  (exit {result.returncode})")
            traceback = "Traceback (most recent call last)" in result.stdout + result.stderr
            if result.returncode != 0 or traceback:
                hint = {127: " (command not found: does the README make it available before "
                             "this line, e.g. `. .venv/bin/activate`?)",
                        TIMED_OUT: f" (did not finish in {COMMAND_TIMEOUT} s: stopped)"}.get(
                    result.returncode, " with a traceback" if traceback else "")
                after = " (after the failure above: may follow from it)" if failures else ""
                failures.append(
                    f"{cmd.where()}: `{cmd.text}` exited {result.returncode}{hint}{after}\n"
                    f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}\n"
                    "If a test cannot run this command, add it to SKIP in "
                    "tests/docs/test_readme_commands.py with the reason.")
    finally:
        for box in background:
            box.proc.send_signal(signal.SIGINT)
            try:
                box.proc.wait(30)
            except subprocess.TimeoutExpired:
                box.proc.kill()
                box.proc.wait()
    return report, failures


@pytest.mark.usefixtures("example_ports")  # `connector sandbox` serves the example ports
@pytest.mark.timeout(1500)  # with the time another run of the suite holds them
def test_every_readme_command_runs_as_written(work: Path):
    commands, templates = readme_commands(README.read_text(encoding="utf-8"))
    report, failures = _run_in_order(commands, Shell(work))
    report += [f"template {c.where()}: {c.text}  (placeholders, not run)" for c in templates]
    print("\n".join(report))
    assert not failures, "\n".join(failures) + "\n\n" + "\n".join(report)
    texts = {c.text for c in commands}
    stale = sorted(set(SKIP) - texts) + sorted(set(BACKGROUND) - texts)
    assert not stale, f"SKIP/BACKGROUND name commands the README no longer has: {stale}"
    ran = [line for line in report if line.startswith(("ran", "started"))]
    assert any("rules import default.xlsx --out my-rules.yaml" in line for line in ran)
    assert (work / "my-rules.yaml").exists()

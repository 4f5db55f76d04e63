"""`connector sandbox` run in the background by a test, as a user runs it in a terminal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# the console script of the interpreter running the tests (what `.venv/bin/connector` is)
BIN = Path(sys.executable).parent
CONNECTOR = BIN / "connector"
READY = "Ctrl-C stops them."


class SandboxProcess:
    """The running command; ``lines`` is everything it printed so far."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a printed line contains ``text`` (fails if the command ends first)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None:
                self._reader.join(5)
                if any(text in line for line in self.lines):
                    return
                raise AssertionError(f"`connector sandbox` ended (exit {self.proc.returncode}) "
                                     f"before printing {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"`connector sandbox` did not print {text!r} in "
                                     f"{timeout} s:\n{self.output()}")
            time.sleep(0.1)

    def exports(self) -> dict[str, str]:
        """The ``export NAME=VALUE`` the sandbox told the user to run."""
        found = {}
        for line in self.lines:
            _, sep, rest = line.partition("export ")
            if sep:
                name, _, value = rest.split(";")[0].split()[0].partition("=")
                found[name] = value
        return found


@contextlib.contextmanager
def running_sandbox(cwd: Path, *args: str, env: dict[str, str] | None = None,
                    ) -> Iterator[SandboxProcess]:
    """``connector sandbox ARGS`` in ``cwd`` until the block ends (then Ctrl-C, as a user)."""
    proc = subprocess.Popen([str(CONNECTOR), "sandbox", *args], cwd=cwd,
                            env={**os.environ, **(env or {}), "COLUMNS": "200"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    box = SandboxProcess(proc)
    try:
        box.wait_for(READY)
        yield box
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        box._reader.join(5)

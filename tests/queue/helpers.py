"""What the queue tests share: `connector worker` processes, and a sandbox score write held
(then dropped) while the test kills the worker making it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

WAIT = 90


class HoldFirstWrite:
    """WSGI middleware: the first score write of the account with ``token`` waits (in the
    server thread) until the test lets it go, and is then dropped."""

    def __init__(self, app, token: str, write_path: str, *, armed: bool = True) -> None:
        self.app, self.token, self.write_path = app, token, write_path
        self.armed = armed  # False: writes pass until the test arms it
        self.reached, self.go_on = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        if (self.armed and not self.reached.is_set()
                and environ.get("REQUEST_METHOD") == "POST"
                and environ.get("PATH_INFO", "").endswith(self.write_path)
                and self.token in environ.get("HTTP_AUTHORIZATION", "")):
            self.reached.set()
            self.go_on.wait(WAIT)
            # its worker died before the write reached the CRM: the write is lost unless
            # the worker that takes over makes it again
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"never arrived"]
        return self.app(environ, start_response)


def start_workers(tmp: Path, env: dict[str, str], count: int,
                  concurrency: int) -> list[tuple[subprocess.Popen, Path]]:
    workers = []
    for n in range(count):
        log = tmp / f"worker{n}.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "worker",
                                     "--concurrency", str(concurrency)], env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        workers.append((proc, log))
    deadline = time.monotonic() + WAIT
    while not all("ready." in log.read_text() for _, log in workers):
        dead = [log.read_text() for proc, log in workers if proc.poll() is not None]
        assert not dead and time.monotonic() < deadline, f"a worker did not start: {dead}"
        time.sleep(0.2)
    return workers


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each (a worker stops between requests), then wait; kill what hangs."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

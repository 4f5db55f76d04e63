"""The invite path under fire: {kill -9, SIGINT, SIGTERM} x {before the first send, mid-batch,
after the last send} x {SMTP ok, slow, 451, 550, refused, drop after DATA}.

Each schedule (seeded) starts a fresh client whose first sync turns 3-5 leads warm, signals
the sync at a point the servers hold for the test (the HubSpot sandbox holds the score
write; the SMTP server holds its answer to message k, or the QUIT after the last one), puts
SMTP into the mode, runs later syncs under that mode, repairs SMTP, runs again, and then
does what the operator is told (resolve "unknown" after checking the mailbox, retry
"failed"). Every warm-up must end with exactly one invite delivered, none lost, none twice;
before the operator acts, everything not delivered must be visibly "failed"/"unknown" with a
`connector actions` command to settle it.

All 54 combinations run once as a real `connector sync` process hit by a real signal; the
other schedules run the sync in this process, a stop event standing in for SIGINT/SIGTERM
and an exception at a chosen instruction for kill -9. The table of outcomes is printed.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.cli.actions_cmds import outbox_line
from connector.config import Settings, load_client
from connector.models import Contact
from connector.sandbox.clock import ClockParts
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import MODES, SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job
from connector.sync.status import status

from ..e2e.helpers import client_yaml
from ..scoring.scenarios import story_000

SIGNALS = ("kill -9", "SIGINT", "SIGTERM")
TIMINGS = ("before first send", "mid-batch", "after last send")
SCHEDULES = int(os.environ.get("DELIVERY_SCHEDULES", 120))
REAL = list(itertools.product(SIGNALS, TIMINGS, MODES))  # every combination, real signal
WAIT = 60


class Killed(BaseException):
    """kill -9, in process: nothing after this instruction runs."""


class HoldWrites:
    """WSGI middleware: hold the next score write until the test lets it go."""

    def __init__(self, app) -> None:
        self.app = app
        self.hook = None

    def __call__(self, environ, start_response):
        hook = self.hook
        if hook is not None and environ.get("PATH_INFO", "").endswith("/batch/update"):
            self.hook = None
            hook(0)
        return self.app(environ, start_response)


@dataclass
class Schedule:
    seed: int
    signal: str
    timing: str
    mode: str
    real: bool
    warm: int
    k: int  # mid-batch: the message in flight
    fail_at: str
    drop_delivers: bool
    runs_in_mode: int
    new_warm: int
    kill_after_record: bool  # in-process kill mid-batch: after recording k, or before


def schedules() -> list[Schedule]:
    out = []
    for i in range(max(SCHEDULES, len(REAL))):
        rng = random.Random(1000 + i)
        sig, timing, mode = REAL[i] if i < len(REAL) else (
            rng.choice(SIGNALS), rng.choice(TIMINGS), rng.choice(MODES))
        warm = rng.randint(3, 5)
        out.append(Schedule(1000 + i, sig, timing, mode, i < len(REAL), warm,
                            rng.randint(1, warm - 1), rng.choice(("MAIL", "RCPT", "DATA")),
                            rng.random() < 0.5, rng.randint(1, 2), rng.randint(0, 2),
                            rng.random() < 0.5))
    return out


class Lab:
    """The servers, shared by every schedule."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.offset = timedelta(0)
        self.app = HubSpotSandbox()
        self.hold = HoldWrites(self.app)
        self.server = Server(self.hold)
        self.sink = SmtpSink().start()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def close(self) -> None:
        self.sink.stop()
        self.server.stop()


def _client(lab: Lab, s: Schedule) -> tuple[str, str, HubSpotAccount, Path, str]:
    name, token = f"fs{s.seed}", f"pat-fault-{s.seed}"
    account = lab.app.add_account(token, HubSpotAccount(
        name, None, plan="enterprise", clock=lab, ten_second_limit=10**6,
        search_per_second=10**6))
    for i in range(s.warm + 3):
        cid = str(s.seed * 100 + i)
        contact = Contact(id=cid, email=f"lead{cid}@example.com",
                          fields={"email": f"lead{cid}@example.com", "first_name": "Maja",
                                  "last_name": "O'Neil & Co", "company": "Lund ApS"})
        account.add_contact(contact, story_000(cid, lab.now()) if i < s.warm else [])
    folder = lab.tmp / name
    folder.mkdir()
    (folder / f"{name}.yaml").write_text(
        client_yaml("hubspot", lab.server.url, "FS_TOKEN", lab.sink.port))
    return name, token, account, folder, f"sqlite:///{lab.tmp / name}.db"


def _arm(lab: Lab, s: Schedule, hit) -> None:
    """Call ``hit()`` (in a server thread, holding the answer) at the schedule's point."""
    lab.sink.handed_over = 0
    if s.timing == "before first send":
        lab.hold.hook = lambda n: hit()
    elif s.timing == "mid-batch":
        lab.sink.on_data = lambda n: hit() if n == s.k else None
    else:
        lab.sink.on_quit = lambda n: hit() if n == s.warm else None


def _disarm(lab: Lab) -> None:
    lab.hold.hook = lab.sink.on_data = lab.sink.on_quit = None


def _enter_mode(lab: Lab, s: Schedule) -> None:
    lab.sink.set_mode(s.mode, fail_at=s.fail_at, delay=0.1, drop_delivers=s.drop_delivers)


def _interrupt_for_real(lab: Lab, s: Schedule, name: str, token: str, folder: Path,
                        url: str) -> str:
    env = {**os.environ, "FS_TOKEN": token, "CONNECTOR_CONFIG_DIR": str(folder),
           "CONNECTOR_STATE_URL": url, "CONNECTOR_LEASE_SECONDS": "60"}
    number = {"kill -9": signal.SIGKILL, "SIGINT": signal.SIGINT,
              "SIGTERM": signal.SIGTERM}[s.signal]
    reached, go_on = threading.Event(), threading.Event()

    def hit() -> None:
        reached.set()
        go_on.wait(WAIT)

    _arm(lab, s, hit)
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "sync", "--client",
                             name], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        if not reached.wait(WAIT):
            proc.kill()
            raise AssertionError(f"{s}: never reached the point: {proc.communicate()[0]}")
        _enter_mode(lab, s)
        proc.send_signal(number)
        if number == signal.SIGKILL:
            proc.wait(WAIT)
        else:
            time.sleep(0.15)  # the handler runs (interrupting the wait for the answer)
        go_on.set()
        output = proc.communicate(timeout=WAIT)[0]
    finally:
        _disarm(lab)
        go_on.set()
        if proc.poll() is None:
            proc.kill()
    return f"exit {proc.returncode}: {output[-300:]}"


class _DyingStore:
    """The state store of a process killed at one instruction (the in-process kill -9)."""

    def __init__(self, store, s: Schedule) -> None:
        self.store, self.s, self.claims, self.sends = store, s, 0, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def claim_next(self, *args, **kwargs):
        self.claims += 1
        s = self.s
        if (s.timing == "before first send" and self.claims == 1) or (
                s.timing == "mid-batch" and not s.kill_after_record and self.claims == s.k + 1) \
                or (s.timing == "after last send" and self.claims == s.warm + 1):
            raise Killed
        return self.store.claim_next(*args, **kwargs)

    def mark_sent(self, *args) -> None:
        self.sends += 1
        if self.s.timing == "mid-batch" and self.s.kill_after_record and self.sends == self.s.k:
            raise Killed  # the server accepted message k; the process dies before recording
        self.store.mark_sent(*args)


def _interrupt_in_process(lab: Lab, s: Schedule, name: str, token: str, folder: Path,
                          url: str) -> str:
    store = open_store(url)
    client = load_client(folder / f"{name}.yaml")
    settings = Settings(state_url=url, lease_seconds=60)
    if s.signal == "kill -9":
        job = make_job(client, settings, _DyingStore(store, s), env={"FS_TOKEN": token},
                       clock=ClockParts(now=lab.now))
        with pytest.raises(Killed):
            run_sync(job)
        _enter_mode(lab, s)
    else:
        job = make_job(client, settings, store, env={"FS_TOKEN": token},
                       clock=ClockParts(now=lab.now))

        def hit() -> None:
            _enter_mode(lab, s)
            job.stop.set()

        _arm(lab, s, hit)
        run_sync(job)
    _disarm(lab)
    store.close()
    return "in process"


def _check_interrupted_run(store, name: str, s: Schedule, how: str) -> None:
    """Right after the signal: only the message in flight was touched, the rest pending."""
    entries = store.outbox(name)
    tried = sum(1 for e in entries if e.attempts)
    in_flight = sum(1 for e in entries if e.status == "sending")
    assert in_flight <= (1 if s.signal == "kill -9" else 0), (s, how, entries)
    expected = {"before first send": 0, "mid-batch": s.k, "after last send": s.warm}
    assert tried == expected[s.timing], (s, how, entries)
    assert all(e.status == "pending" for e in entries if not e.attempts), (s, how, entries)
    if s.timing == "after last send":
        assert all(e.status == "sent" for e in entries), (s, how, entries)


def _delivered(lab: Lab, name: str) -> Counter:
    return Counter(m["X-Connector-Key"] for m in lab.sink.messages
                   if m["X-Connector-Key"].startswith(f"{name}:"))


def _run_schedule(lab: Lab, s: Schedule) -> Counter:
    lab.offset = timedelta(0)
    lab.sink.set_mode("ok")
    name, token, account, folder, url = _client(lab, s)
    how = (_interrupt_for_real if s.real else _interrupt_in_process)(lab, s, name, token,
                                                                      folder, url)
    store = open_store(url)
    _check_interrupted_run(store, name, s, how)
    with store.transaction() as tx:  # a killed run's lease: the next run takes it over
        tx.conn.exec_driver_sql("UPDATE leases SET until = '2000-01-01 00:00:00'")
    job = make_job(load_client(folder / f"{name}.yaml"), Settings(state_url=url,
                   lease_seconds=60), store, env={"FS_TOKEN": token}, clock=ClockParts(now=lab.now))

    def sync(advance: timedelta) -> None:
        lab.offset += advance
        run_sync(job)
        assert max(_delivered(lab, name).values(), default=0) <= 1, (s, how)

    for i in range(s.new_warm):  # leads keep turning warm while SMTP is down
        cid = str(s.seed * 100 + s.warm + i)
        for event in story_000(cid, lab.now() + timedelta(minutes=1)):
            account.add_event(event)
    for _ in range(s.runs_in_mode):
        sync(timedelta(minutes=10))
    lab.sink.set_mode("ok")
    for _ in range(3):
        sync(timedelta(hours=2))

    # before anyone acts: delivered once, or visibly failed/unknown with a command
    delivered = _delivered(lab, name)
    invites = [e for e in store.outbox(name) if e.kind == "invite"]
    expected = {f"invite:{s.seed * 100 + i}:1" for i in range(s.warm + s.new_warm)}
    assert {e.dedupe_key for e in invites} == expected, (s, how, invites)  # none lost
    outcome: Counter = Counter()
    for e in invites:
        got = delivered[f"{name}:{e.dedupe_key}"]
        assert e.status in ("sent", "failed", "unknown"), (s, how, e)
        assert got == (1 if e.status == "sent" else got), (s, how, e)
        assert e.status != "failed" or got == 0, (s, how, e)
        if e.status == "sent":
            outcome["sent, retried" if e.attempts > 1 else "sent"] += 1
        else:
            outcome[f"{e.status}, {'arrived' if got else 'not arrived'}"] += 1
    counts = status(store)["clients"][name]["actions"]
    if counts.get("failed") or counts.get("unknown"):
        line = outbox_line(name, counts)
        assert line and "connector actions" in line, line

    # the operator does what the messages say, and the next sync finishes the job
    now = lab.now()
    for e in invites:
        if e.status == "unknown":
            assert store.resolve_unknown(name, e.id, bool(delivered[f"{name}:{e.dedupe_key}"]),
                                         now)
        elif e.status == "failed":
            assert store.requeue_failed(name, e.id, now)
    sync(timedelta(hours=2))
    final = _delivered(lab, name)
    outcome["lost"] += sum(1 for key in expected if final[f"{name}:{key}"] == 0)
    outcome["twice"] += sum(1 for n in final.values() if n > 1)
    assert not outcome["lost"] and not outcome["twice"], (s, how, final)
    assert {e.status for e in store.outbox(name)} == {"sent"}, (s, how)
    store.close()
    return outcome


@pytest.mark.timeout(600)
def test_signals_at_every_point_and_every_smtp_answer_lose_nothing_and_send_nothing_twice(
        tmp_path):
    lab = Lab(tmp_path)
    table: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    runs: Counter = Counter()
    started = time.monotonic()
    try:
        for s in schedules():
            key = (s.signal, s.timing, s.mode)
            table[key] += _run_schedule(lab, s)
            runs[key, "real" if s.real else "in process"] += 1
    finally:
        lab.close()
    assert all(runs[key, "real"] >= 1 for key in REAL)
    assert sum(runs.values()) >= min(SCHEDULES, 100)
    _print_table(table, runs, time.monotonic() - started)


def _print_table(table, runs, seconds: float) -> None:
    columns = ["sent", "sent, retried", "failed, not arrived", "unknown, arrived",
               "unknown, not arrived"]
    head = f"{'signal':8} {'when':18} {'smtp':8} {'real':>4} {'inproc':>6} " + " ".join(
        f"{c:>21}" for c in columns) + "  lost  twice"
    print(f"\ndelivery fault suite: {sum(runs.values())} schedules in {seconds:.0f} s; "
          "after SMTP works again and the operator settles what the commands say, every "
          "warm-up got exactly one invite")
    print(head)
    for key in sorted(table):
        counts = table[key]
        print(f"{key[0]:8} {key[1]:18} {key[2]:8} {runs[key, 'real']:>4} "
              f"{runs[key, 'in process']:>6} " + " ".join(f"{counts[c]:>21}" for c in columns)
              + f"  {counts['lost']:>4}  {counts['twice']:>5}")

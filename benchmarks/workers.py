"""Scale-out benchmark: ``clients`` HubSpot sandbox clients synced by 1, 2, 4 ... real
`connector worker` processes from one Redis queue, state in a fresh PostgreSQL database.

Wall time from enqueueing all clients to the last one done, and per-client lag (due, i.e.
enqueued, to the run's finish in the state store). The sandbox answers 429 past each
account's scaled limit: the count must stay 0, because one client is synced by one worker
at a time and that worker's limiter paces it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.sandbox_proc import HUBSPOT_PER_10S, RemoteSandbox

RULES = Path(__file__).resolve().parent.parent / "config" / "rules" / "default.yaml"
PG_ADMIN = os.environ.get("CONNECTOR_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
REDIS = os.environ.get("CONNECTOR_BENCH_REDIS", "redis://127.0.0.1:6379/15")
WAIT = 900


@dataclass
class WorkersRun:
    workers: int
    clients: int
    wall: float
    lags: list[float]
    throttled: int
    ok: int

    def lag(self, q: float) -> float:
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(workers: int, clients: int, size: int, scale: float, latency: float) -> WorkersRun:
    """One measurement: fresh sandbox, database and queue; ``workers`` worker processes."""
    import psycopg

    from connector.queue import app as queue_app
    from connector.queue.producer import enqueue
    from connector.store import open_store

    names = [f"w{i:02d}" for i in range(clients)]
    sandbox = RemoteSandbox("hubspot", scale, [(n, size, 100 + i) for i, n in
                                               enumerate(names)], latency)
    database = f"bench_workers_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    state = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") \
        + f"/{database}"
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen] = []
    store = None
    try:
        for name in names:
            (folder / f"{name}.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{sandbox.url}", token_env: {name.upper()}_TOKEN,
      plan: enterprise, rate_limit: {{requests_per_second: {HUBSPOT_PER_10S / 10 * scale}}}}}
rules: {RULES}
owner_fallback: {{name: A B, email: a@b.co}}
invite: {{enabled: false}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
""")
        store = open_store(state)  # migrated once, before the workers connect
        env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(folder),
               "CONNECTOR_STATE_URL": state, "CONNECTOR_QUEUE_URL": REDIS,
               "CONNECTOR_QUEUE_NAME": queue, "CONNECTOR_QUEUE_VISIBILITY_TIMEOUT": "600",
               **{f"{n.upper()}_TOKEN": f"bench-token-{n}" for n in names}}
        logs = [folder / f"worker{i}.log" for i in range(workers)]
        for log in logs:
            with log.open("w") as out:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "connector.cli.__main__", "worker"], env=env,
                    stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not all("ready." in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker did not start: " + logs[0].read_text()[-800:])
            time.sleep(0.2)
        queue_app.configure(REDIS, 600, queue)
        due = datetime.now(UTC)
        began = time.perf_counter()
        for name in names:
            enqueue(name, due_at=due)
        done: dict[str, dict] = {}
        deadline = time.monotonic() + WAIT
        while len(done) < clients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(done)} of {clients} clients finished")
            for name in names:
                if name not in done:
                    runs = store.last_runs(name, 1)
                    if runs and runs[0]["finished_at"] is not None:
                        done[name] = runs[0]
            time.sleep(0.2)
        wall = time.perf_counter() - began
        lags = [(r["finished_at"].astimezone(UTC) - due).total_seconds()
                for r in done.values()]
        ok = sum(1 for r in done.values() if r["status"] == "ok")
        throttled = sum(sandbox.throttled(n) for n in names)
        return WorkersRun(workers, clients, wall, lags, throttled, ok)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if store is not None:
            store.close()
        sandbox.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _clear_queue(queue)


def _clear_queue(queue: str) -> None:
    import redis

    conn = redis.Redis.from_url(REDIS)
    for key in conn.scan_iter(match=f"{queue}:*"):
        conn.delete(key)


def summary(r: WorkersRun) -> str:
    return (f"{r.wall:.1f} s wall; lag due->done p50 {r.lag(0.5):.1f} s, p95 "
            f"{r.lag(0.95):.1f} s, max {max(r.lags):.1f} s; {r.ok}/{r.clients} ok; "
            f"{r.throttled} answered 429")

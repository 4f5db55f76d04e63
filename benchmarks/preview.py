"""`connector rules preview` of N stored contacts, as its own process: wall time and peak
RSS (``python -m benchmarks --only preview --sizes 100000,1000000``). The SQLite state is
filled in bulk first (``connector.sandbox.stored_state``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from connector.sandbox.stored_state import CLIENT, client_yaml, fill, new_rules_text


def run(n: int, workdir: Path | None = None) -> tuple[float, float, float, int]:
    """Fill a SQLite store with ``n`` contacts, then run `connector rules preview` on it as
    a process: (fill seconds, preview seconds, preview peak RSS in MB, contacts listed)."""
    work = workdir or Path(tempfile.mkdtemp(prefix="preview-bench-"))
    (work / "clients").mkdir(exist_ok=True)
    (work / "clients" / f"{CLIENT}.yaml").write_text(client_yaml(), encoding="utf-8")
    new = work / "new.yaml"
    new.write_text(new_rules_text(), encoding="utf-8")
    url = f"sqlite:///{work / 'state.db'}"
    start = time.monotonic()
    at = fill(url, n)
    filled = time.monotonic() - start
    env = {**os.environ, "CONNECTOR_STATE_URL": url, "BENCH_TOKEN": "x",
           "COLUMNS": "160"}
    out_path, err_path = work / "preview.out", work / "preview.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", "from connector.cli import main; main()", "rules",
             "preview", str(new), "--client", CLIENT, "--config-dir", str(work / "clients"),
             "--now", at.isoformat()], env=env, stdout=out, stderr=err)
        # wait4, not wait: the child's own peak RSS, not the largest of every child's
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
    if status:
        raise RuntimeError(f"rules preview failed ({status}): "
                           f"{err_path.read_text()[-2000:]}")
    peak = usage.ru_maxrss / 1024
    contacts = _listed(out_path.read_text())
    return filled, seconds, peak, contacts


def _listed(out: str) -> int:
    first = out.split(" stored contacts", 1)[0].rsplit(" ", 1)[-1]
    return int(first.replace(",", "")) if first.replace(",", "").isdigit() else -1

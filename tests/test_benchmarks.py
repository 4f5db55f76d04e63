"""The benchmark script runs end to end and its table shows the steady-state targets.

Sizes are tiny here (CI); the README's figures come from the full runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_incremental_rows_show_an_unchanged_portal_costs_one_call_and_no_write():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "incremental", "--incremental", "300",
         "--crm", "hubspot", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4))
            for m in re.finditer(r"^\| (hubspot incremental 300, [^|]+?) \| (\d+) calls, "
                                 r"(\d+) writes, [^|]*\| [^|]* \| (\S+) \|$", out, re.M)}
    assert set(rows) == {"hubspot incremental 300, the sync after the full resync "
                         "(1 site visit in between)",
                         "hubspot incremental 300, 1% changed",
                         "hubspot incremental 300, the next sync (our writes come back)",
                         "hubspot incremental 300, unchanged"}, out
    calls, writes, verdict = rows["hubspot incremental 300, 1% changed"]
    assert 1 <= writes <= 3 and calls >= 3 * 2  # 3 changed: their engagement, the writes
    assert rows["hubspot incremental 300, the next sync (our writes come back)"][1] == 0
    assert rows["hubspot incremental 300, unchanged"] == (1, 0, "ok")


def test_activecampaign_rows_show_our_writes_cost_no_engagement_call():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "incremental", "--incremental", "300",
         "--crm", "activecampaign", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5))
            for m in re.finditer(r"^\| (activecampaign incremental 300, [^|]+?) \| (\d+) "
                                 r"calls, (\d+) writes, \d+ pulled, (\d+) engagement calls"
                                 r"[^|]*\| [^|]* \| (\S+) \|$", out, re.M)}
    echo = rows["activecampaign incremental 300, the sync after the full resync "
                "(1 site visit in between)"]
    # pages + stream + the visit's logs + its write, and the visitor's invite's own calls
    assert echo[2] == 1 and echo[3] == "ok", out
    nxt = rows["activecampaign incremental 300, the next sync (our writes come back)"]
    assert nxt[2] == 0 and nxt[3] == "ok", out


def test_scale_window_runs_activecampaign_at_5_per_window_and_earns_no_429():
    """``--scale-window``: 5 requests per 1/20 s, the round trip divided by 20 and uneven,
    four requests in flight; the limiter never bounces off the strict window."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "resync", "--crm", "activecampaign",
         "--sizes", "200", "--scale-window", "--scale", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    row = re.search(r"^\| activecampaign full resync 200: wall / rate-limit bound \| "
                    r"[\d.]+ s / [\d.]+ s \(20x limits by window, (\d+) answered 429\)", out,
                    re.M)
    assert row and row.group(1) == "0", out
    assert "limit scaled by its window" in out


def test_scale_window_is_for_activecampaign():
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--scale-window"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "--crm activecampaign" in run.stderr


def test_preview_rows_show_the_preview_of_every_stored_contact_and_its_memory():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "preview", "--sizes", "200,400"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True).stdout
    rows = re.findall(r"^\| `rules preview` of ([\d,]+) stored contacts [^|]*\| "
                      r"([\d.]+) s, peak RSS (\d+) MB \| [^|]* \| ([^|]+) \|$", out, re.M)
    assert [(n, verdict.strip()) for n, _, _, verdict in rows] == [
        ("200", "-"), ("400", rows[1][3].strip())], out
    assert re.fullmatch(r"RSS \d+\.\d\dx the 200 run", rows[1][3].strip())
    assert all(int(mb) > 0 for _, _, mb, _ in rows)

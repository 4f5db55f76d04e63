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
    assert echo[0] <= 3 + 3 and echo[2] == 1 and echo[3] == "ok", out  # the visit's logs
    nxt = rows["activecampaign incremental 300, the next sync (our writes come back)"]
    assert nxt[2] == 0 and nxt[3] == "ok", out

"""Peak memory of one full resync of N contacts with a real adapter: ``python -m
benchmarks.memory_probe N --crm hubspot|activecampaign`` prints the peak RSS in MB.

The adapter (HubSpot's or ActiveCampaign's, over HTTP) reads a sandbox account of N seeded
contacts served by its own process (``benchmarks.sandbox_proc``, so its memory is not
counted), at limits scaled far past the real ones: memory does not depend on the pace.
What is measured is this process: the adapter (pages, engagement, ActiveCampaign's
activity stream, which waits in the state store), scoring, the state store (SQLite) and
the write-back.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from datetime import UTC, datetime

from benchmarks.__main__ import AC_RATE, HUBSPOT_RATE, _client
from benchmarks.sandbox_proc import RemoteSandbox
from connector.config import Settings
from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.base import CRM
from connector.crm.hubspot import HubSpotCRM
from connector.crm.spool import MemorySpool
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

SCALE = 1000.0  # limits 1,000 times the real ones: the pace is the machine's
NAME, SEED = "mem", 3


def adapter(kind: str, url: str) -> CRM:
    token = f"bench-token-{NAME}"
    if kind == "hubspot":
        return HubSpotCRM(NAME, token, url, plan="enterprise",
                          requests_per_10s=int(HUBSPOT_RATE * 10 * SCALE),
                          search_per_second=int(5 * SCALE))
    # the sandbox's stream names site visits (as in the resync benchmark)
    return ActiveCampaignCRM(NAME, token, url, requests_per_second=AC_RATE * SCALE,
                             import_poll_seconds=0.001, stream_names_visits=True)


def probe(n: int, kind: str, in_memory: bool = False) -> float:
    """Peak RSS (MB) of this process after a full resync of ``n`` contacts (``in_memory``:
    ActiveCampaign's activity stream held in memory, as before issue 25)."""
    sandbox = RemoteSandbox(kind, SCALE, [(NAME, n, SEED)])
    try:
        state = f"sqlite:///{tempfile.mkdtemp(prefix='mem-')}/state.db"
        store = open_store(state)
        crm = adapter(kind, sandbox.url)
        job = make_job(_client(NAME, kind, sandbox.url), Settings(state_url=state), store,
                       crm=crm, env={"BENCH_TOKEN": f"bench-token-{NAME}"})
        if in_memory and isinstance(crm, ActiveCampaignCRM):
            crm.use_spool(MemorySpool())
        try:
            report = run_sync(job, full=True)
        finally:
            crm.close()
        assert report.counts["scored"] == n, report.counts
    finally:
        sandbox.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="contacts in the account")
    parser.add_argument("--crm", choices=("hubspot", "activecampaign"), default="hubspot")
    parser.add_argument("--in-memory", action="store_true",
                        help="hold ActiveCampaign's activity stream in memory (the old way)")
    args = parser.parse_args()
    began = datetime.now(UTC)
    peak = probe(args.n, args.crm, args.in_memory)
    took = (datetime.now(UTC) - began).total_seconds()
    how = ", stream in memory" if args.in_memory else ""
    print(f"{began.isoformat()} {args.crm} {args.n} contacts{how}, {took:.0f} s")
    print(peak)


if __name__ == "__main__":
    main()

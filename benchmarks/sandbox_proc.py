"""A HubSpot sandbox with many portals in its own process, so the connector process being
measured does not share its CPU (and GIL) with the server it talks to.

``python -m benchmarks.sandbox_proc CLIENTS SIZE SCALE`` prints the URL, serves until its
standard input closes, then prints the calls each portal received as JSON.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server


def main() -> None:
    clients, size, scale = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    app = HubSpotSandbox()
    for i in range(clients):
        app.add_account(f"bench-token-c{i}", HubSpotAccount(
            f"c{i}", Population(size, seed=i), plan="enterprise",
            ten_second_limit=int(100 * scale), search_per_second=int(5 * scale)))
    with Server(app) as server:
        print(server.url, flush=True)
        sys.stdin.read()
    calls = Counter(e.account for e in app.ledger.entries)
    print(json.dumps(dict(calls)), flush=True)


if __name__ == "__main__":
    main()

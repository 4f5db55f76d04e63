"""Sandbox portals in their own process, so the connector process being measured does not
share its CPU (and GIL) with the server it talks to, as with a real CRM.

``python -m benchmarks.sandbox_proc KIND SCALE NAME:SIZE:SEED [...] [--latency S]
[--jitter J] [--scale-window]`` prints its URL and serves until its standard input closes;
every CRM request takes ``S`` seconds more (a real CRM's round trip, divided by the limits'
scale like everything else): half of it before the sandbox sees (and counts) the request,
half after, each half ``S/2 * (1 +- J)`` at random. ``--scale-window`` scales
ActiveCampaign's limit by its window (5 per ``1/SCALE`` s) instead of its count.
Besides the CRM routes it answers control routes for the benchmark (never recorded
in the ledger): ``GET /__bench/calls?account=``, ``GET /__bench/throttled?account=`` (429s
answered), ``POST /__bench/clear`` and
``POST /__bench/event`` (a contact did something now).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.models import Event
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

HUBSPOT_PER_10S = 100  # Free/Starter private apps
HUBSPOT_SEARCH_PER_S = 5
AC_PER_S = 5


def shape(path: str) -> str:
    return "/".join("{id}" if p.isdigit() else p for p in path.split("/"))


def build(kind: str, scale: float, accounts: list[tuple[str, int, int]],
          scale_window: bool = False) -> Any:
    app: Any = HubSpotSandbox() if kind == "hubspot" else ACSandbox()
    for name, size, seed in accounts:
        population = Population(size, seed=seed)
        if kind == "hubspot":
            app.add_account(f"bench-token-{name}", HubSpotAccount(
                name, population, plan="enterprise",
                ten_second_limit=int(HUBSPOT_PER_10S * scale),
                search_per_second=int(HUBSPOT_SEARCH_PER_S * scale)))
        else:
            app.add_account(f"bench-token-{name}", ACAccount(
                name, population, requests_per_second=AC_PER_S * scale, import_polls=1,
                rate_window=1 / scale if scale_window else 1.0))
    return app


def with_controls(app: Any, latency: float = 0.0, jitter: float = 0.0) -> Any:
    accounts = {a.name: a for a in app.accounts.values()}

    def leg() -> float:
        return latency / 2 * random.uniform(1 - jitter, 1 + jitter)

    def control(environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        if not request.path.startswith("/__bench/"):
            if latency > 0:
                time.sleep(leg())  # the way there: the sandbox counts the request after it
            body = app(environ, start_response)
            if latency > 0:
                time.sleep(leg())  # the way back (the headers go out with the body)
            return body
        if request.path == "/__bench/calls":
            name = request.args.get("account")
            calls = Counter(f"{e.method} {shape(e.path)}" for e in app.ledger.entries
                            if e.account == name)
            response = Response(json.dumps(calls), mimetype="application/json")
        elif request.path == "/__bench/throttled":  # 429s answered to the account
            name = request.args.get("account")
            count = sum(1 for e in app.ledger.entries if e.account == name and e.status == 429)
            response = Response(json.dumps({"429": count}), mimetype="application/json")
        elif request.path == "/__bench/clear":
            app.ledger.clear()
            response = Response("{}", mimetype="application/json")
        else:
            body = request.get_json()
            accounts[body.pop("account")].add_event(Event(
                occurred_at=datetime.fromisoformat(body.pop("occurred_at")), **body))
            response = Response("{}", mimetype="application/json")
        return response(environ, start_response)

    return control


class RemoteSandbox:
    """The benchmark's handle on a sandbox process."""

    def __init__(self, kind: str, scale: float, accounts: list[tuple[str, int, int]],
                 latency: float = 0.0, *, jitter: float = 0.0,
                 scale_window: bool = False) -> None:
        spec = [f"{n}:{size}:{seed}" for n, size, seed in accounts]
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.sandbox_proc", kind,
                                      str(scale), *spec, "--latency", str(latency),
                                      "--jitter", str(jitter),
                                      *(["--scale-window"] if scale_window else [])],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the sandbox process did not start")

    def _call(self, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data
                                         or path.endswith("clear") else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")

    def calls(self, account: str) -> Counter:
        return Counter(self._call(f"/__bench/calls?account={account}"))

    def throttled(self, account: str) -> int:
        """How many of the account's requests were answered 429 (they are in ``calls``)."""
        return int(self._call(f"/__bench/throttled?account={account}")["429"])

    def clear(self) -> None:
        self._call("/__bench/clear")

    def add_event(self, account: str, event: Event) -> None:
        self._call("/__bench/event", {
            "account": account, "id": event.id, "contact_id": event.contact_id,
            "type": str(event.type), "occurred_at": event.occurred_at.isoformat(),
            "url": event.url, "email_id": event.email_id, "name": event.name})

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["hubspot", "activecampaign"])
    parser.add_argument("scale", type=float)
    parser.add_argument("accounts", nargs="+", help="NAME:SIZE:SEED")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--scale-window", action="store_true")
    args = parser.parse_args()
    accounts = [(n, int(size), int(seed)) for n, size, seed in
                (a.split(":") for a in args.accounts)]
    app = build(args.kind, args.scale, accounts, args.scale_window)
    # the seeded accounts live as long as the process: out of the collector's sight, a big
    # account's millions of objects cost no full collection (which, on a busy machine,
    # stalled the server past the client's 30 s read timeout at 100,000 contacts)
    gc.freeze()
    with Server(with_controls(app, args.latency, args.jitter)) as server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

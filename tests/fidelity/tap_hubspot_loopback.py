"""Run tap-hubspot (singer-io, pinned in check.py) against the loopback sandbox.

Run with the tap's own virtual environment. The tap's API host is a module constant
(``BASE_URL = "https://api.hubapi.com"``); it is pointed at the sandbox named by the
config's ``base_url`` (a key the tap itself ignores), and nothing else is changed: every
request, header and parse is the tap's own.
"""

from __future__ import annotations

import json
import sys

import tap_hubspot


def _base_url() -> str:
    config = sys.argv[sys.argv.index("--config") + 1]
    with open(config) as handle:
        url = json.load(handle)["base_url"]
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("tap_hubspot_loopback: base_url must be a loopback sandbox")
    return str(url)


tap_hubspot.BASE_URL = _base_url()

if __name__ == "__main__":
    tap_hubspot.main()

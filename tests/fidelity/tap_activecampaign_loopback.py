"""Run tap-activecampaign (singer-io, pinned in check.py) against the loopback sandbox.

Run with the tap's own virtual environment. The tap refuses an ``api_url`` that is not
https or resolves to a private address (``client.is_api_url_valid``, a guard against
server-side request forgery); the sandbox is plain HTTP on 127.0.0.1, so that guard, and
nothing else, is replaced by one that admits loopback only. Every request, header and
parse is the tap's own.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

import tap_activecampaign
import tap_activecampaign.client as client


def _loopback(api_url: str) -> bool:
    host = urlparse(api_url).hostname or ""
    return ipaddress.ip_address(host).is_loopback


client.is_api_url_valid = _loopback

if __name__ == "__main__":
    tap_activecampaign.main()

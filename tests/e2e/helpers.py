"""Building blocks for end-to-end tests: a client config, a job, the story contacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.config import ClientConfig, Settings
from connector.models import Contact

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules" / "default.yaml"


def client_config(name: str, kind: str, base_url: str, smtp_port: int,
                  **overrides: Any) -> ClientConfig:
    data: dict[str, Any] = {
        "name": name,
        "crm": {"kind": kind, "base_url": base_url, "token_env": "TEST_TOKEN"},
        "rules": str(RULES),
        "owner_fallback": {"name": "Linnea Berg", "email": "linnea@example-agency.com"},
        "invite": {"from_address": "sales@example-agency.com"},
        "notify": {"to": ["sales@example-agency.com"]},
        "smtp": {"host": "127.0.0.1", "port": smtp_port},
        # these tests act on the leads already warm at a first sync (the default, baseline,
        # is tested in tests/actions/test_first_sync.py)
        "first_sync": "act",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ClientConfig.model_validate(data)


def client_yaml(kind: str, base_url: str, token_env: str, smtp_port: int) -> str:
    """A client file for tests that run the CLI or workers: the default rules, a rate limit
    out of the way, invites in the owner's name (also at the first sync), no notify and no
    unsubscribe."""
    return f"""\
crm: {{kind: {kind}, base_url: "{base_url}", token_env: {token_env}, plan: enterprise,
      rate_limit: {{requests_per_second: 100000}}}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{from_address: sales@example-agency.com}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
smtp: {{host: 127.0.0.1, port: {smtp_port}, timeout: 5}}
first_sync: act
"""


def settings(url: str) -> Settings:
    return Settings(state_url=url, lease_seconds=60)


def sandbox_job(client: ClientConfig, base_url: str, token: str, clock: Any, store: Any,
                store_url: str, **crm_options: Any) -> Any:
    """A sync job on the client's sandbox account: the real adapter over HTTP, on the test's
    fake clock, with the rate limits out of the way (``crm_options``: more of the
    adapter's keyword arguments)."""
    from connector.sync.runtime import make_job

    if client.crm.kind == "hubspot":
        from connector.crm.hubspot import HubSpotCRM

        crm: Any = HubSpotCRM(client.name, token, base_url, plan="enterprise",
                              clock=clock,
                              requests_per_10s=100_000, search_per_second=100_000,
                              **crm_options)
    else:
        from connector.crm.activecampaign import ActiveCampaignCRM

        crm = ActiveCampaignCRM(client.name, token, base_url, clock=clock,
                                requests_per_second=100_000, **crm_options)
    return make_job(client, settings(store_url), store, crm=crm, clock=clock,
                    env={"TEST_TOKEN": token})


def story_contact(cid: str, email: str, **fields: Any) -> Contact:
    return Contact(id=cid, email=email, fields={"email": email, "first_name": "Maja",
                                                "last_name": "Lund", "company": "Lund ApS",
                                                **fields})

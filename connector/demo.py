"""`connector demo`: the whole product on this machine, nothing to configure.

Starts the HubSpot sandbox with a seeded population and a local SMTP sink, syncs the
example HubSpot client against them with a fresh SQLite state file, then shows who to
call today and the invites that went out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from connector.actions.smtp_sink import SmtpSink
from connector.config import ClientConfig, RateLimitConfig, Settings, load_client
from connector.report import SyncReport
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.store import open_store
from connector.store.base import Store, StoredContact

DEMO_TOKEN = "pat-demo-sandbox-token"
ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "config" / "clients"


@dataclass
class DemoResult:
    state_path: Path
    reports: list[SyncReport] = field(default_factory=list)
    leaders: dict[str, list[StoredContact]] = field(default_factory=dict)
    invites: list[EmailMessage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_demo(contacts: int = 300, state_path: Path = Path("connector-demo.db"),
             sync_client=None, top: int = 10) -> DemoResult:
    """Run the demo; ``sync_client(settings, client, store)`` runs one sync (with progress)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_path}{suffix}").unlink(missing_ok=True)
    result = DemoResult(state_path=state_path.resolve())
    population = Population(contacts, seed=7)
    app = HubSpotSandbox()
    # the demo's portal allows 10x HubSpot's Starter burst so it finishes in seconds
    app.add_account(DEMO_TOKEN, HubSpotAccount("acme", population, plan="enterprise",
                                               ten_second_limit=1000, search_per_second=50))
    settings = Settings(state_url=f"sqlite:///{state_path}", config_dir=CLIENTS)
    store: Store = open_store(settings.state_url)
    with Server(app) as server, SmtpSink() as sink:
        client = _hubspot_client(server.url, sink.port)
        os.environ[client.crm.token_env] = DEMO_TOKEN
        report = sync_client(settings, client, store)
        result.reports.append(report)
        result.leaders[client.name] = store.top_contacts(client.name, top)
        result.invites = [m for m in sink.messages if ":invite:" in m["X-Connector-Key"]]
    result.notes.append("ActiveCampaign client (config/clients/nordic-ac.yaml) skipped: the "
                        "ActiveCampaign adapter is not part of this build yet")
    return result


def _hubspot_client(url: str, smtp_port: int) -> ClientConfig:
    base = load_client(CLIENTS / "acme-hubspot.yaml")
    return base.model_copy(update={
        "crm": base.crm.model_copy(update={
            "base_url": url, "plan": "enterprise",
            "rate_limit": RateLimitConfig(requests_per_second=90)}),
        "smtp": base.smtp.model_copy(update={"port": smtp_port}),
    })

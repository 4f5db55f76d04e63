"""`connector demo`: the whole product on this machine, nothing to configure.

Starts both sandboxes (HubSpot and ActiveCampaign, the same seeded people) and a local
SMTP sink, syncs the two example clients against them with a fresh SQLite state file, then
shows who to call today per client and the invites that went out. The sandboxes allow ten
times the real rate limits so the demo takes seconds instead of minutes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from connector.config import ClientConfig, RateLimitConfig, Settings, load_client
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import Store, StoredContact
from connector.sync.report import SyncReport

DEMO_TOKEN = "pat-demo-sandbox-token"
AC_DEMO_TOKEN = "ac-demo-sandbox-token"
ROOT = Path(__file__).resolve().parents[2]
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
    ac_app = ACSandbox()
    ac_app.add_account(AC_DEMO_TOKEN, ACAccount("nordic", population, requests_per_second=50))
    settings = Settings(state_url=f"sqlite:///{state_path}", config_dir=CLIENTS)
    store: Store = open_store(settings.state_url)
    with Server(app) as server, Server(ac_app) as ac_server, SmtpSink() as sink:
        clients = [(_client("acme-hubspot.yaml", server.url, sink.port, 90), DEMO_TOKEN),
                   (_client("nordic-ac.yaml", ac_server.url, sink.port, 45), AC_DEMO_TOKEN)]
        for client, token in clients:
            os.environ[client.crm.token_env] = token
            result.reports.append(sync_client(settings, client, store))
            result.leaders[client.name] = store.top_contacts(client.name, top)
        result.invites = [m for m in sink.messages if ":invite:" in m["X-Connector-Key"]]
    return result


def connector_command() -> str:
    """``connector`` as a command that works as printed in this shell's working directory:
    the script next to the running interpreter (a virtual environment's ``bin/connector``,
    relative to the working directory when below it), plain ``connector`` only when the
    PATH finds that same script, else ``python -m connector.cli``."""
    script = Path(sys.executable).parent / ("connector.exe" if os.name == "nt" else "connector")
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m connector.cli"
    found = shutil.which("connector")
    if found and Path(found).resolve() == script.resolve():
        return "connector"
    relative = os.path.relpath(script, Path.cwd())
    return shlex.quote(str(script) if relative.startswith("..") else relative)


def state_command(state_path: Path, args: str) -> str:
    """A `connector` command line on the demo's state file and client files, ready to paste
    in this working directory (``--config-dir`` unless the clients are its config/clients)."""
    url = shlex.quote(f"sqlite:///{state_path}")
    folder = ""
    if CLIENTS.resolve() != (Path.cwd() / "config" / "clients").resolve():
        folder = f" --config-dir {shlex.quote(str(CLIENTS))}"
    return f"CONNECTOR_STATE_URL={url} {connector_command()} {args}{folder}"


def _client(file: str, url: str, smtp_port: int, rate: float) -> ClientConfig:
    base = load_client(CLIENTS / file)
    return base.model_copy(update={
        "crm": base.crm.model_copy(update={
            "base_url": url, "plan": "enterprise",
            "rate_limit": RateLimitConfig(requests_per_second=rate)}),
        "smtp": base.smtp.model_copy(update={"port": smtp_port}),
        # the demo shows invites: its sandbox portal is new, so its first sync acts on the
        # leads already warm (a real client's file keeps the safe default, baseline)
        "first_sync": "act",
    })

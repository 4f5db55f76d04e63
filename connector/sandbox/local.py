"""`connector sandbox`: the CRM sandboxes and the SMTP sink on the ports the example clients use.

The example client files (config/clients/acme-hubspot.yaml and nordic-ac.yaml) point at
these defaults, so a first sync of one's own works against them with nothing but the
token variables set: HubSpot on 127.0.0.1:8765, ActiveCampaign on 127.0.0.1:8766, the
SMTP sink on 127.0.0.1:8025. The sandboxes keep the CRMs' real rate limits (a first sync
paces itself as it would against the real account).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from connector.config import ClientConfig
from connector.errors import ConnectorError
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink

HOST = "127.0.0.1"
HUBSPOT_PORT = 8765
AC_PORT = 8766
SMTP_PORT = 8025
HUBSPOT_TOKEN = "pat-sandbox-token"
AC_TOKEN = "ac-sandbox-token"
CRMS = ("hubspot", "activecampaign", "both")


class PortInUse(ConnectorError, OSError):
    """A server could not listen on its port (``option`` is the CLI option that sets it)."""

    def __init__(self, name: str, port: int, option: str, reason: str) -> None:
        super().__init__(f"{name} cannot listen on {HOST}:{port}: {reason}")
        self.option = option


@dataclass
class Served:
    """One running server and what a client needs to use it."""

    name: str
    url: str
    token: str | None = None
    kind: str | None = None  # the crm.kind of client files that use it; None: SMTP
    plan: str | None = None  # HubSpot: the portal's plan


@dataclass
class LocalSandboxes:
    """Start with ``with LocalSandboxes(...) as boxes:``; ``boxes.served`` lists them."""

    crm: str = "both"
    smtp: bool = False
    contacts: int = 200
    seed: int = 7
    plan: str = "enterprise"
    hubspot_port: int = HUBSPOT_PORT
    ac_port: int = AC_PORT
    smtp_port: int = SMTP_PORT
    served: list[Served] = field(default_factory=list)
    sink: SmtpSink | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> LocalSandboxes:
        if self.crm not in CRMS:
            raise ValueError(f"--crm {self.crm!r}: one of {', '.join(CRMS)}")
        population = Population(self.contacts, self.seed)
        try:
            if self.crm in ("hubspot", "both"):
                hubspot = HubSpotSandbox()
                hubspot.add_account(HUBSPOT_TOKEN, HubSpotAccount("sandbox", population,
                                                                  plan=self.plan))
                server = self._stack.enter_context(
                    _listen("HubSpot sandbox", "--port", self.hubspot_port, hubspot))
                self.served.append(Served("HubSpot sandbox", server.url, HUBSPOT_TOKEN,
                                          "hubspot", self.plan))
            if self.crm in ("activecampaign", "both"):
                ac = ACSandbox()
                ac.add_account(AC_TOKEN, ACAccount("sandbox", population))
                server = self._stack.enter_context(
                    _listen("ActiveCampaign sandbox", "--ac-port", self.ac_port, ac))
                self.served.append(Served("ActiveCampaign sandbox", server.url, AC_TOKEN,
                                          "activecampaign"))
            if self.smtp:
                try:
                    self.sink = self._stack.enter_context(SmtpSink(HOST, self.smtp_port))
                except OSError as exc:
                    raise PortInUse("SMTP sink", self.smtp_port, "--smtp-port",
                                    _reason(exc)) from None
                self.served.append(Served("SMTP sink", f"smtp://{HOST}:{self.smtp_port}"))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _listen(name: str, option: str, port: int, app: HubSpotSandbox | ACSandbox) -> Server:
    try:
        return Server(app, HOST, port)
    except OSError as exc:
        raise PortInUse(name, port, option, _reason(exc)) from None


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


def instructions(served: Served, clients: dict[str, ClientConfig]) -> list[str]:
    """What to set for ``served``: the client-file values, and per client file in
    ``clients`` that uses this kind of server, the variable to export or the value that
    differs from what is served."""
    if served.kind is None:  # the SMTP sink
        host, port = served.url.removeprefix("smtp://").split(":")
        lines = [f"client file: smtp.host: {host}, smtp.port: {port} (no starttls, no "
                 "username); every message it receives is printed here"]
        for name, client in sorted(clients.items()):
            if (client.smtp.host, client.smtp.port) == (host, int(port)):
                lines.append(f"{name}: its smtp settings match")
            else:
                lines.append(f"{name}: set smtp.host: {host} and smtp.port: {port} "
                             f"(it has {client.smtp.host}:{client.smtp.port})")
        return lines
    lines = [f"client file: crm.kind: {served.kind}, crm.base_url: {served.url}"
             + (f" (HubSpot plan {served.plan}: leave crm.plan out, the sync detects it)"
                if served.plan else "")]
    matching = {n: c for n, c in sorted(clients.items()) if c.crm.kind == served.kind}
    for name, client in matching.items():
        line = f"{name}: export {client.crm.token_env}={served.token}"
        if (client.crm.base_url or "").rstrip("/") != served.url:
            line += f"; set crm.base_url: {served.url} (it has {client.crm.base_url or 'none'})"
        if served.plan and client.crm.plan not in (None, served.plan):
            line += (f" (its crm.plan: {client.crm.plan} narrows what is read from this "
                     f"{served.plan} portal; leave it out to read it all)")
        lines.append(line)
    if not matching:
        lines.append(f"token: export <the variable your crm.token_env names>={served.token}")
    return lines


def example_clients(config_dir: Path) -> dict[str, ClientConfig]:
    """The client files in ``config_dir`` that load (none when the folder is missing)."""
    from connector.config import load_clients

    if not config_dir.is_dir():
        return {}
    return dict(load_clients(config_dir))


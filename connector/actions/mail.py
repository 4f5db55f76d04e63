"""Render and send the invite and the sales notification by SMTP."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from connector.config import ClientConfig

TEMPLATES = Path(__file__).parent / "templates"


class SendUncertain(Exception):
    """The SMTP conversation broke after the message may have been accepted."""


def _env(folder: Path) -> Environment:
    return Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape([]),
                       undefined=StrictUndefined, keep_trailing_newline=True)


def render(template: Path | None, default: str, payload: dict[str, Any],
           **extra: Any) -> str:
    path = template or TEMPLATES / default
    return _env(path.parent).get_template(path.name).render(**payload, **extra)


def invite_message(client: ClientConfig, payload: dict[str, Any], dedupe_key: str,
                   ) -> EmailMessage:
    """The personal invite, in the salesperson's name: From shows the owner, replies go
    to the owner."""
    context = {"meeting_link": client.invite.meeting_link}
    subject = _env(TEMPLATES).from_string(client.invite.subject).render(
        **payload, **context).strip()
    body = render(client.invite.template, "invite.txt.j2", payload, **context)
    msg = EmailMessage()
    sender = client.invite.from_address or payload["owner_email"]
    msg["From"] = formataddr((payload["owner_name"], sender))
    msg["Reply-To"] = formataddr((payload["owner_name"], payload["owner_email"]))
    msg["To"] = payload["email"]
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(idstring=dedupe_key.replace(":", "."), domain="connector")
    msg["X-Connector-Key"] = f"{client.name}:{dedupe_key}"
    msg.set_content(body)
    return msg


def notify_message(client: ClientConfig, payload: dict[str, Any], dedupe_key: str,
                   ) -> EmailMessage:
    """The sales notification: details, explanation, interests and journey."""
    body = render(None, "notify.txt.j2", payload, invite_enabled=client.invite.enabled)
    name = " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
    msg = EmailMessage()
    msg["From"] = formataddr(("connector", client.invite.from_address or
                              payload["owner_email"]))
    msg["To"] = ", ".join(client.notify.to or [payload["owner_email"]])
    msg["Subject"] = (f"Warm lead: {name or payload.get('email')} "
                      f"({payload['score']} points, {payload['tier']})")
    msg["X-Connector-Key"] = f"{client.name}:{dedupe_key}"
    msg.set_content(body)
    return msg


def send(client: ClientConfig, message: EmailMessage, password: str | None) -> None:
    """Send by SMTP. Failing to connect or log in raises ``OSError``/``SMTPException``
    (safe to retry); a failure after the message was handed over raises SendUncertain."""
    cfg = client.smtp
    context = ssl.create_default_context()
    smtp_cls = smtplib.SMTP_SSL if cfg.ssl else smtplib.SMTP
    kwargs: dict[str, Any] = {"timeout": cfg.timeout}
    if cfg.ssl:
        kwargs["context"] = context
    with smtp_cls(cfg.host, cfg.port, **kwargs) as smtp:
        if cfg.starttls:
            smtp.starttls(context=context)
        if cfg.username:
            smtp.login(cfg.username, password or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise
        except (smtplib.SMTPServerDisconnected, TimeoutError, OSError) as exc:
            raise SendUncertain(f"{type(exc).__name__}: {exc}") from None

"""The SMTP row of ``connector doctor``: connect, EHLO, STARTTLS, AUTH; never MAIL."""

from __future__ import annotations

import smtplib
import ssl
from typing import TYPE_CHECKING

from connector.doctor import FAIL, OK, Row

if TYPE_CHECKING:
    from connector.config import ClientConfig

CHECK = "SMTP (EHLO, STARTTLS, AUTH; no mail sent)"


def uses_smtp(client: ClientConfig) -> bool:
    return (client.invite.enabled and client.invite.via == "smtp") or \
        (client.notify.enabled and client.notify.via == "smtp")


def smtp_row(client: ClientConfig, password: str | None) -> Row:
    cfg = client.smtp
    where = f"{cfg.host}:{cfg.port}"
    if not uses_smtp(client):
        return Row(CHECK, OK, "no invite or note goes by SMTP", "sends no mail")
    refused = "no invite or note is sent: each is marked failed (nothing goes out)"
    try:
        smtp = (smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                 context=ssl.create_default_context()) if cfg.ssl
                else smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout))
    except (OSError, smtplib.SMTPException) as exc:
        return Row(CHECK, FAIL, f"{where}: cannot connect ({type(exc).__name__}: {exc})",
                   "invites and notes wait and are retried for smtp.retry_for_hours, then "
                   "marked failed", "check smtp.host, smtp.port (and smtp.ssl) and the "
                   "firewall")
    steps = ["EHLO"]
    try:
        smtp.ehlo()
        if cfg.starttls:
            if not smtp.has_extn("starttls"):
                return Row(CHECK, FAIL, f"{where}: EHLO ok; the server offers no STARTTLS",
                           refused, "use the server's submission port that offers STARTTLS "
                           "(usually 587), or smtp.ssl: true on port 465")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            steps.append("STARTTLS")
        if cfg.username:
            if not smtp.has_extn("auth"):
                return Row(CHECK, FAIL, f"{where}: {', '.join(steps)} ok; no AUTH offered",
                           refused, "check smtp.port (submission, 587 or 465) or remove "
                           "smtp.username for a relay that needs none")
            smtp.login(cfg.username, password or "")
            steps.append(f"AUTH as {cfg.username}")
    except smtplib.SMTPAuthenticationError as exc:
        return Row(CHECK, FAIL, f"{where}: AUTH refused ({exc.smtp_code})", refused,
                   "check smtp.username and the password in smtp.password_env")
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        return Row(CHECK, FAIL, f"{where}: {', '.join(steps)} ok, then {type(exc).__name__}: "
                   f"{exc}", refused, "check smtp.starttls / smtp.ssl and the server's "
                   "certificate")
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    tls = "TLS" if (cfg.ssl or cfg.starttls) else "no TLS (smtp.allow_plain_auth or no "\
        "credentials)"
    return Row(CHECK, OK, f"{where}: {', '.join(steps)} ok; {tls}", "sends invites and "
               "notes")

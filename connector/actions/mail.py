"""Render and send the invite and the sales notification by SMTP.

What an SMTP failure means for the message decides what delivery does next:

=====================================================  ===============  ==================
what happened                                          raised           outbox entry
=====================================================  ===============  ==================
connection refused, timeout or drop before DATA         NotSent          pending, retried
4xx reply at any step (greeting, MAIL, RCPT, DATA)      NotSent          pending, retried
5xx reply at any step                                   Rejected         failed (reason)
connection lost after the message was handed over      SendUncertain    unknown (a person)
=====================================================  ===============  ==================

Names in From, Reply-To and To are ``email.headerregistry.Address`` objects, never
``formataddr`` strings: a string is parsed again by the header policy, so "Jensen, Søren"
became two addresses and "Åsa O'Neil <Sales>" the address "Sales". Address fields are
folded only past RFC 5322's 998-character line limit (section 2.1.1): folding at 78 cuts a
long non-ASCII name into adjacent encoded-words, which RFC 2047 section 6.2 readers join
but Python's own parser (before the fix of CPython gh-128110) reads with a space inside
the name.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from connector.config import ClientConfig, SmtpConfig
from connector.errors import MailError

TEMPLATES = Path(__file__).parent / "templates"
ADDRESS_FIELDS = frozenset({"from", "reply-to", "to", "cc", "sender"})
LINE_LIMIT = 998  # RFC 5322 section 2.1.1: a line MUST NOT exceed 998 characters


class _MailPolicy(EmailPolicy):
    """``email.policy.default``, except that address fields fold only at LINE_LIMIT, so a
    display name stays one encoded-word (see the module docstring)."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in ADDRESS_FIELDS and self.max_line_length != LINE_LIMIT:
            return self.clone(max_line_length=LINE_LIMIT).fold(name, value)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in ADDRESS_FIELDS and self.max_line_length != LINE_LIMIT:
            return self.clone(max_line_length=LINE_LIMIT).fold_binary(name, value)
        return super().fold_binary(name, value)


POLICY = _MailPolicy()


class NotSent(MailError):
    """The server did not take the message (refused, timeout before DATA, 4xx): retry."""


class Rejected(MailError):
    """The server refused the message for good (5xx); the text is the server's reason."""


class SendUncertain(MailError):
    """The SMTP conversation broke after the message was handed over: it may have gone."""


def _env(folder: Path) -> Environment:
    # plain-text mail: never HTML-escape (a name like O'Brien stays O'Brien)
    return Environment(loader=FileSystemLoader(str(folder)), autoescape=False,
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
    msg = EmailMessage(policy=POLICY)
    sender = client.invite.from_address or payload["owner_email"]
    msg["From"] = address(payload["owner_name"], sender)
    msg["Reply-To"] = address(payload["owner_name"], payload["owner_email"])
    msg["To"] = address("", payload["email"])
    msg["Subject"] = " ".join(subject.split())
    _stamp(msg, client, dedupe_key, sender)
    msg.set_content(body)
    return msg


def notify_message(client: ClientConfig, payload: dict[str, Any], dedupe_key: str,
                   ) -> EmailMessage:
    """The sales notification: details, explanation, interests and journey."""
    body = render(None, "notify.txt.j2", payload, invite_enabled=client.invite.enabled)
    name = " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
    msg = EmailMessage(policy=POLICY)
    sender = client.invite.from_address or payload["owner_email"]
    msg["From"] = address("connector", sender)
    if client.notify.to:  # the client file's addresses, as written there
        msg["To"] = ", ".join(client.notify.to)
    else:
        msg["To"] = address(payload["owner_name"], payload["owner_email"])
    msg["Subject"] = (f"Warm lead: {name or payload.get('email')} "
                      f"({payload['score']} points, {payload['tier']})")
    _stamp(msg, client, dedupe_key, sender)
    msg.set_content(body)
    return msg


def address(name: str | None, email: str) -> Address:
    """``name <email>`` as one mailbox, whatever the name holds (commas, quotes, ``<>``,
    ``@``, any script); runs of spaces in the name become one, as a reader shows them.
    Raises ValueError naming the address when ``email`` is not a plain address."""
    display = " ".join(re.split(r"[ \t\r\n]+", (name or "").strip(" \t\r\n")))
    try:
        return Address(display_name=display, addr_spec=email)
    except (HeaderParseError, MessageDefect, IndexError) as exc:
        raise ValueError(f"{email!r} is not an email address ({exc})") from None


def usable_email(email: str | None) -> bool:
    """Whether ``email`` can be a From or Reply-To address (a plain ASCII addr-spec)."""
    if not email:
        return False
    try:
        address("", email)
    except ValueError:
        return False
    return True


def _stamp(msg: EmailMessage, client: ClientConfig, dedupe_key: str, sender: str) -> None:
    """Date, and a Message-ID that is the same on every attempt of one action (so a person
    settling an "unknown" entry can search the mailbox for it)."""
    domain = sender.rpartition("@")[2] or "connector.invalid"
    local = re.sub(r"[^A-Za-z0-9.-]", ".", f"{dedupe_key}.{client.name}")
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{local}@{domain}>"
    msg["X-Connector-Key"] = f"{client.name}:{dedupe_key}"


def send(client: ClientConfig, message: EmailMessage, password: str | None,
         on_accepted: Callable[[], None] | None = None) -> None:
    """Send one message. Raises NotSent (retry), Rejected (5xx) or SendUncertain (the
    connection broke after the message was handed over). ``on_accepted`` runs right after
    the server's final 250, before the courtesy QUIT, so the outcome is recorded at once."""
    cfg = client.smtp
    smtp: _SMTP | _SMTPS | None = None
    step = "connect"
    try:
        smtp = _open(cfg)
        if cfg.starttls:
            step = "STARTTLS"
            smtp.starttls(context=ssl.create_default_context())
        if cfg.username:
            if not (cfg.ssl or cfg.starttls or cfg.allow_plain_auth):  # config forbids it too
                raise Rejected("refusing to send SMTP credentials without TLS; fix: set "
                               "smtp.starttls or smtp.ssl, or smtp.allow_plain_auth: true")
            step = "AUTH"
            smtp.login(cfg.username, password or "")
        step = "MAIL/RCPT/DATA"
        smtp.send_message(message)
    except BaseException as exc:
        handed_over = bool(smtp and smtp.handed_over)
        if smtp is not None:
            smtp.close()
        if isinstance(exc, Exception):
            raise _classify(exc, cfg, step, handed_over) from None
        raise
    if on_accepted is not None:
        on_accepted()
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):  # the message was accepted; QUIT is courtesy
        smtp.close()


def _classify(exc: Exception, cfg: SmtpConfig, step: str, handed_over: bool) -> Exception:
    where = f"SMTP {cfg.host}:{cfg.port}"
    if isinstance(exc, (NotSent, Rejected)):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        code = max((c for c, _ in replies), default=550)
        text = "; ".join(f"{c} {_text(m)}" for c, m in replies)
        return _by_code(code, f"{where} refused the recipient at RCPT TO: {text}")
    if isinstance(exc, smtplib.SMTPResponseException):
        stage = "DATA" if isinstance(exc, smtplib.SMTPDataError) else (
            "MAIL FROM" if isinstance(exc, smtplib.SMTPSenderRefused) else step)
        return _by_code(exc.smtp_code,
                        f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)} at {stage}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Rejected(f"{where} does not support {step} ({exc}); fix: check smtp.starttls, "
                        "smtp.ssl and smtp.username in the client file")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Rejected(f"{where}: TLS certificate check failed ({exc.verify_message}); fix: "
                        "check smtp.host (it must match the server's certificate)")
    if handed_over:
        return SendUncertain(f"{where}: connection lost after the message was handed over "
                             f"({type(exc).__name__}: {exc}); it may have been delivered")
    reason = ("connection refused" if isinstance(exc, ConnectionRefusedError) else
              f"timed out after {cfg.timeout:g} s" if isinstance(exc, TimeoutError) else
              f"{type(exc).__name__}: {exc}")
    return NotSent(f"{where}: {reason} at {step}; the message was not handed over")


def _by_code(code: int, text: str) -> Exception:
    return NotSent(text) if 400 <= code < 500 else Rejected(text)


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


class _Tracking:
    """Knows whether the server said 354 to DATA: from then on the message is handed over,
    and a lost connection leaves its fate unknown."""

    handed_over = False
    _in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self._in_data = False

    def getreply(self) -> tuple[int, bytes]:
        code, text = super().getreply()  # type: ignore[misc]
        if self._in_data and code == 354:
            self.handed_over = True
        return code, text


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTPS(_Tracking, smtplib.SMTP_SSL):
    pass


def _open(cfg: SmtpConfig) -> _SMTP | _SMTPS:
    if cfg.ssl:
        return _SMTPS(cfg.host, cfg.port, timeout=cfg.timeout,
                      context=ssl.create_default_context())
    return _SMTP(cfg.host, cfg.port, timeout=cfg.timeout)

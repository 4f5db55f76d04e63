"""The action sections of a client file: who is invited or notified and how, the mail
server, and the guard on mass actions."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from connector.config.fields import EMAIL, Strict
from connector.config.secrets import env_var_name


class PersonConfig(Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=EMAIL)


class InviteConfig(Strict):
    enabled: bool = True
    via: Literal["smtp", "hubspot_task", "activecampaign_tag",
                 "activecampaign_automation"] = "smtp"
    subject: str = "{{ first_name or 'Hi' }}, shall we talk about {{ top_interest }}?"
    template: Path | None = None
    from_address: str | None = Field(None, pattern=EMAIL)
    tag: str | None = None
    automation_id: str | None = None
    meeting_link: str | None = None
    # at most this many invites per salesperson per UTC day; the rest wait ("queued") in
    # score order for the next day (None: no cap)
    daily_cap_per_owner: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _needs(self) -> InviteConfig:
        if self.via == "activecampaign_tag" and not self.tag:
            raise ValueError("invite.via activecampaign_tag needs invite.tag; fix: add tag: "
                             "warm-lead")
        if self.via == "activecampaign_automation" and not self.automation_id:
            raise ValueError("invite.via activecampaign_automation needs "
                             "invite.automation_id; fix: add the automation's id")
        return self


class NotifyConfig(Strict):
    enabled: bool = True
    to: list[str] = Field(default_factory=list)
    via: Literal["smtp", "hubspot_task"] = "smtp"


class UnsubscribeConfig(Strict):
    enabled: bool = True
    list_id: str | None = None


class SmtpConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(20, gt=0)
    # an action that was NOT sent (refused, timeout before DATA, 4xx, CRM 429/5xx) is
    # retried with back-off for this long after its first attempt, then marked "failed"
    retry_for_hours: float = Field(24, gt=0)
    # credentials over an unencrypted connection only when the file says so
    allow_plain_auth: bool = False

    @model_validator(mode="after")
    def _no_plain_credentials(self) -> SmtpConfig:
        if self.username and not (self.ssl or self.starttls or self.allow_plain_auth):
            raise ValueError(
                "smtp.username is set but the connection is not encrypted, so the password "
                "would cross the network in clear text; fix: set smtp.starttls: true (port "
                "587) or smtp.ssl: true (port 465), or smtp.allow_plain_auth: true for a "
                "trusted local relay")
        return self

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return env_var_name(value, "smtp.password_env", "SMTP_PASSWORD_ACME")


class GuardConfig(Strict):
    """Mass actions one run may take before they are held for a person (defaults a normal
    day never reaches)."""

    max_invites_per_run: int = Field(200, ge=0)
    max_unsubscribe_share: float = Field(0.01, ge=0, le=1)
    # below this many unsubscribes in a run the share is not applied (one unsubscribe of a
    # 50-contact client is 2 %, not a mass action)
    min_unsubscribes: int = Field(5, ge=0)

"""One client of the agency, from ``config/clients/<name>.yaml``: its CRM, rules,
schedule, webhooks and actions. Secrets are named here, read only when needed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from connector.config.actions import (
    GuardConfig,
    InviteConfig,
    NotifyConfig,
    PersonConfig,
    SmtpConfig,
    UnsubscribeConfig,
)
from connector.config.fields import CLIENT_NAME, PROPERTY_NAME, Strict
from connector.config.secrets import env_var_name, read_secret


class RateLimitConfig(Strict):
    requests_per_second: float = Field(gt=0)


class CRMConfig(Strict):
    kind: Literal["hubspot", "activecampaign"]
    base_url: str | None = None
    token_env: str
    # optional: what the portal can do is detected (connector/crm/detected.py); a plan
    # declared here narrows it, and the sync report says where they disagree
    plan: Literal["free", "starter", "professional", "enterprise"] | None = None
    rate_limit: RateLimitConfig | None = None
    # per-contact engagement requests in flight: hides the CRM's latency; the rate limit
    # still holds across all of them
    concurrency: int = Field(4, ge=1, le=16)
    field_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        return env_var_name(value, "crm.token_env", "HUBSPOT_TOKEN_ACME")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL; fix: e.g. "
                             "https://ACCOUNT.api-us1.com")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _base(self) -> CRMConfig:
        if self.base_url is None:
            if self.kind == "activecampaign":
                raise ValueError("crm.base_url is required for ActiveCampaign; fix: copy "
                                 "it from Settings > Developer, e.g. "
                                 "https://ACCOUNT.api-us1.com")
            object.__setattr__(self, "base_url", "https://api.hubapi.com")
        return self


class ScorePropertyConfig(Strict):
    name: str = Field("connector_lead_score", pattern=PROPERTY_NAME)
    label: str = "Lead score (connector)"
    group: str = Field("connector", pattern=PROPERTY_NAME)


class ScheduleConfig(Strict):
    interval_minutes: float | None = Field(None, gt=0)
    cron: str | None = None
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; fix: use an IANA name such as "
                             "Europe/Copenhagen") from None
        return value

    @model_validator(mode="after")
    def _one(self) -> ScheduleConfig:
        if (self.interval_minutes is None) == (self.cron is None):
            raise ValueError("give exactly one of interval_minutes or cron; fix: e.g. "
                             "interval_minutes: 15")
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r} is invalid ({exc}); fix: five fields, "
                                 "e.g. '*/15 7-19 * * 1-5'") from None
        return self


class WebhooksConfig(Strict):
    """Webhooks into ``connector serve`` (README, "Webhooks")."""

    # true: the scheduled poll syncs just the contacts webhooks marked dirty (plus those
    # due by time) instead of every contact changed since the bookmark; false: webhooks
    # still speed things up, the poll reads as before
    enabled: bool = False
    # HubSpot: the app's client secret (checks X-HubSpot-Signature-v3); ActiveCampaign: the
    # secret part of /webhooks/activecampaign/<client>/<secret>
    secret_env: str | None = None
    # the targeted sync runs after this many seconds without a new webhook for the
    # client, or at most this long after the first one
    quiet_seconds: float = Field(2.0, gt=0)
    max_wait_seconds: float = Field(10.0, gt=0)

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return env_var_name(value, "webhooks.secret_env", "WEBHOOK_SECRET_ACME")


class ClientConfig(Strict):
    """One client of the agency, from ``config/clients/<name>.yaml``."""

    name: str = Field(pattern=CLIENT_NAME)
    crm: CRMConfig
    rules: Path
    score_property: ScorePropertyConfig = ScorePropertyConfig()
    schedule: ScheduleConfig = ScheduleConfig(interval_minutes=15)
    owner_fallback: PersonConfig
    invite: InviteConfig = InviteConfig()
    notify: NotifyConfig = NotifyConfig()
    unsubscribe: UnsubscribeConfig = UnsubscribeConfig()
    smtp: SmtpConfig = SmtpConfig()
    guard: GuardConfig = GuardConfig()
    # when the rules change, invites and unsubscribes the change alone causes are "held"
    # until `connector actions release` (hold), or sent like any other (act)
    on_model_change: Literal["hold", "act"] = "hold"
    # a client's first sync (state has never finished a pull of it): leads already warm and
    # contacts already at the floor are recorded as the starting point and listed, never
    # invited or unsubscribed (baseline: only later transitions are acted on); acted on
    # like any transition (act); or enqueued "held" for a person (hold). README, "First sync"
    first_sync: Literal["baseline", "act", "hold"] = "baseline"
    webhooks: WebhooksConfig = WebhooksConfig()
    dry_run: bool = False
    source: Path | None = None

    @model_validator(mode="after")
    def _webhook_secret(self) -> ClientConfig:
        if self.webhooks.enabled and not self.webhooks.secret_env:
            raise ValueError("webhooks.enabled is true but webhooks.secret_env is not set; "
                             "fix: name the environment variable holding the webhook secret, "
                             "e.g. secret_env: WEBHOOK_SECRET_ACME")
        return self

    def webhook_secret(self, env: Mapping[str, str] | None = None) -> str | None:
        """The webhook secret, read from the environment variable the file names."""
        if not self.webhooks.secret_env:
            return None
        return self._secret(self.webhooks.secret_env, "webhooks.secret_env", env)

    def token(self, env: Mapping[str, str] | None = None) -> str:
        """The CRM token, read from the environment variable the file names."""
        return self._secret(self.crm.token_env, "crm.token_env", env)

    def smtp_password(self, env: Mapping[str, str] | None = None) -> str | None:
        if not self.smtp.password_env:
            return None
        return self._secret(self.smtp.password_env, "smtp.password_env", env)

    def _secret(self, var: str, field: str, env: Mapping[str, str] | None) -> str:
        return read_secret(var, field, env, file=str(self.source or self.name))

    def __repr__(self) -> str:
        return f"ClientConfig(name={self.name!r}, crm={self.crm.kind!r})"

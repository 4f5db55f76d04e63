"""Configuration, validated once at start-up into frozen objects.

Global settings come from the environment (``CONNECTOR_`` prefix, or a ``.env`` file);
each client is one YAML file in the config directory (``config/clients/<name>.yaml``).
Tokens and passwords are never in YAML: a client names the environment variable that
holds its token (``crm.token_env``), read only when the token is needed.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.errors import ClientConfigError

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CLIENT_NAME = r"^[a-z0-9][a-z0-9_-]*$"
PROPERTY_NAME = r"^[a-z][a-z0-9_]*$"
# what a value failing each pattern should look like, for people (never the regex itself)
PATTERN_TEXT = {
    EMAIL: ("is not an email address", "write it as name@domain, e.g. sales@example-agency.com"),
    CLIENT_NAME: ("is not a usable client name", "use lower-case letters a-z, digits, '-' and "
                  "'_', starting with a letter or digit, e.g. acme-hubspot"),
    PROPERTY_NAME: ("is not a CRM property name", "use lower-case letters a-z, digits and '_', "
                    "starting with a letter, e.g. connector_lead_score"),
}
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret")
# what tokens and keys look like: vendor prefixes, long hex
TOKEN_PREFIX = re.compile(r"(?i)^(pat-|sk[-_]|ghp_|gho_|xox[abp]-|bearer\s)|^[0-9a-f]{32,}$")
DOTENV = Path(".env")


def looks_like_secret(value: str) -> bool:
    """True when ``value`` looks like a token or key rather than a variable name: such a
    value is never echoed in an error. Names (capitals, digits, underscores) stay names,
    however long, unless they are one long run of letters and digits."""
    text = value.strip()
    if TOKEN_PREFIX.search(text):
        return True
    mixed = any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
    if ENV_NAME.match(text):
        return mixed and "_" not in text and len(text) >= 24
    return len(text) >= 40 or (mixed and len(text) >= 16)


def _env_var_name(value: str, field: str, example: str) -> str:
    """Validate the NAME of an environment variable (never echo a pasted secret)."""
    if looks_like_secret(value):
        raise ValueError(f"the value of {field} looks like a token itself; fix: put the "
                         f"token in .env or an environment variable and name that variable "
                         f"here, e.g. {field.split('.')[-1]}: {example}")
    if not ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name; fix: use "
                         f"capitals, digits and underscores, e.g. {example}")
    return value


class Settings(BaseSettings):
    """Process-wide settings (environment variables with the ``CONNECTOR_`` prefix)."""

    model_config = SettingsConfigDict(env_prefix="CONNECTOR_", env_file=".env",
                                      extra="ignore", frozen=True)

    config_dir: Path = Path("config/clients")
    state_url: str = "sqlite:///connector-state.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # a run renews its lease every third of this; a holder that stops renewing (its
    # machine died) frees the client after this long (a dead process on this host at once)
    lease_seconds: int = Field(60, ge=30)
    # `connector worker` / `connector run` with a queue: the Celery broker (Redis), and how
    # long a task may run before Redis hands it to another worker (longer than any sync)
    queue_url: str | None = None
    queue_visibility_timeout: int = Field(1800, ge=5)
    # the Redis queue (and key prefix) producers and workers share: two deployments on one
    # Redis need two names
    queue_name: str = Field("connector", pattern=r"^[A-Za-z0-9_.-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RateLimitConfig(_Strict):
    requests_per_second: float = Field(gt=0)


class CRMConfig(_Strict):
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
        return _env_var_name(value, "crm.token_env", "HUBSPOT_TOKEN_ACME")

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


class ScorePropertyConfig(_Strict):
    name: str = Field("connector_lead_score", pattern=PROPERTY_NAME)
    label: str = "Lead score (connector)"
    group: str = Field("connector", pattern=PROPERTY_NAME)


class ScheduleConfig(_Strict):
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


class PersonConfig(_Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=EMAIL)


class InviteConfig(_Strict):
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


class NotifyConfig(_Strict):
    enabled: bool = True
    to: list[str] = Field(default_factory=list)
    via: Literal["smtp", "hubspot_task"] = "smtp"


class UnsubscribeConfig(_Strict):
    enabled: bool = True
    list_id: str | None = None


class SmtpConfig(_Strict):
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
        return _env_var_name(value, "smtp.password_env", "SMTP_PASSWORD_ACME")


class GuardConfig(_Strict):
    """Mass actions one run may take before they are held for a person (defaults a normal
    day never reaches)."""

    max_invites_per_run: int = Field(200, ge=0)
    max_unsubscribe_share: float = Field(0.01, ge=0, le=1)
    # below this many unsubscribes in a run the share is not applied (one unsubscribe of a
    # 50-contact client is 2 %, not a mass action)
    min_unsubscribes: int = Field(5, ge=0)


class WebhooksConfig(_Strict):
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
        return _env_var_name(value, "webhooks.secret_env", "WEBHOOK_SECRET_ACME")


class ClientConfig(_Strict):
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
        return _secret(self, self.webhooks.secret_env, "webhooks.secret_env", env)

    def token(self, env: Mapping[str, str] | None = None) -> str:
        """The CRM token, read from the environment variable the file names."""
        return _secret(self, self.crm.token_env, "crm.token_env", env)

    def smtp_password(self, env: Mapping[str, str] | None = None) -> str | None:
        if not self.smtp.password_env:
            return None
        return _secret(self, self.smtp.password_env, "smtp.password_env", env)

    def __repr__(self) -> str:
        return f"ClientConfig(name={self.name!r}, crm={self.crm.kind!r})"


def _secret(client: ClientConfig, var: str, field: str, env: Mapping[str, str] | None) -> str:
    """The secret named ``var``: the environment first, then the ``.env`` file in the
    working directory (where ``.env.example`` and the error below send users)."""
    raw = (env if env is not None else os.environ).get(var)
    value = raw if raw and raw.strip() else dotenv_secret(var)
    if not value:
        fix = (f"export {var}=<secret> or put {var}=<secret> in {DOTENV.resolve()} "
               "(never in the YAML file)")
        if raw is not None or _dotenv_names(var):
            where = "in the environment" if raw is not None else f"in {DOTENV.resolve()}"
            raise ClientConfigError(f"environment variable {var} is set {where} but empty",
                                    file=str(client.source or client.name), field=field,
                                    fix=f"give it the secret: {fix}")
        raise ClientConfigError(f"environment variable {var} is not set", file=str(
            client.source or client.name), field=field, fix=fix)
    return value


def _dotenv_names(var: str) -> bool:
    """Whether the ``.env`` file has a line for ``var`` (even an empty one)."""
    try:
        return DOTENV.is_file() and var in dotenv_values(DOTENV)
    except (OSError, UnicodeDecodeError):
        return False


def dotenv_secret(var: str, path: Path | None = None) -> str | None:
    """``var`` from the ``.env`` file (python-dotenv's parser), or None."""
    file = path or DOTENV
    if not file.is_file():
        return None
    try:
        value = dotenv_values(file).get(var)
    except (OSError, UnicodeDecodeError):
        return None
    return value if value and value.strip() else None


# --------------------------------------------------------------------------- loading
def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "CONNECTOR_" + "_".join(str(p) for p in err["loc"]).upper()
        raise ClientConfigError(err["msg"], file="environment", field=name,
                                fix="correct or unset it (see .env.example)") from None


def load_client(path: str | Path) -> ClientConfig:
    """Load and validate one client file; errors name the file, line, field and fix."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except FileNotFoundError:
        raise ClientConfigError("file not found", file=str(p), fix="check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ClientConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(p),
                                field=f"line {mark.line + 1}" if mark else None,
                                fix="check indentation and quoting near that line") from None
    if not isinstance(data, dict):
        raise ClientConfigError("a client file must be a YAML mapping", file=str(p),
                                fix="start from config/clients/acme-hubspot.yaml")
    _reject_secrets(data, p, node)
    named = "name" in data
    data.setdefault("name", p.stem)
    data["source"] = str(p)
    try:
        client = ClientConfig.model_validate(data)
    except ValidationError as exc:
        if not named and _bad_name(exc):
            raise _name_from_file(p) from None
        raise _translate(exc, p, node) from None
    rules = _resolve(client.rules, p)
    if not rules.exists():
        raise ClientConfigError(f"rules file {client.rules} does not exist", file=str(p),
                                field=_where(node, ("rules",)) + "rules",
                                fix="point rules: at a file such as ../rules/default.yaml "
                                    "(relative to this file)")
    if rules.is_dir():
        raise ClientConfigError(f"rules: {client.rules} is a folder, not a rules file",
                                file=str(p), field=_where(node, ("rules",)) + "rules",
                                fix="name one YAML file in it, e.g. rules: "
                                    f"{Path(client.rules) / 'default.yaml'}")
    template = client.invite.template
    updates: dict[str, Any] = {"rules": rules}
    if template is not None:
        resolved = _resolve(template, p)
        if not resolved.exists():
            raise ClientConfigError(f"invite template {template} does not exist", file=str(p),
                                    field="invite.template",
                                    fix="give a Jinja2 file path or leave it out")
        updates["invite"] = client.invite.model_copy(update={"template": resolved})
    return client.model_copy(update=updates)


class ClientSet(dict[str, ClientConfig]):
    """The clients that loaded, by name, and the files that did not (``broken``: path to
    error), so one broken file never stops the commands of every other client."""

    def __init__(self, clients: Mapping[str, ClientConfig] | None = None,
                 broken: Mapping[str, ClientConfigError] | None = None) -> None:
        super().__init__(clients or {})
        self.broken: dict[str, ClientConfigError] = dict(broken or {})

    def broken_for(self, name: str) -> ClientConfigError | None:
        """The error of the broken file that would have defined client ``name``."""
        for path, error in self.broken.items():
            if Path(path).stem == name or getattr(error, "client_name", None) == name:
                return error
        return None


def load_clients(config_dir: str | Path) -> ClientSet:
    """Every ``*.yaml`` client in ``config_dir``, by name. A file that does not load (or
    whose name another file also uses) is kept in ``broken`` with its error, and the
    other clients load all the same."""
    folder = Path(config_dir)
    if not folder.is_dir():
        raise ClientConfigError("the client config folder does not exist", file=str(folder),
                                fix="create it or set CONNECTOR_CONFIG_DIR / --config-dir")
    result = ClientSet()
    sources: dict[str, Path] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            client = load_client(path)
        except ClientConfigError as exc:
            result.broken[str(path)] = exc
            continue
        if client.name in sources:
            first = sources[client.name]
            for dup, other in ((path, first), (first, path)):
                error = ClientConfigError(
                    f"client name {client.name!r} is used twice (also in {other.name})",
                    file=str(dup), field="name", fix="give each client a unique name")
                error.client_name = client.name  # type: ignore[attr-defined]
                result.broken[str(dup)] = error
            result.pop(client.name, None)
            continue
        sources[client.name] = path
        result[client.name] = client
    return result


def _resolve(path: Path, client_file: Path) -> Path:
    if path.is_absolute():
        return path
    beside = (client_file.parent / path).resolve()
    return beside if beside.exists() else path.resolve()


def _reject_secrets(data: Any, path: Path, node: yaml.Node | None, loc: tuple = ()) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            lowered = str(key).lower()
            if any(s in lowered for s in SECRET_KEYS) and not lowered.endswith("_env"):
                dotted = ".".join(str(p) for p in (*loc, key))
                raise ClientConfigError(
                    "secrets must not be written in client files", file=str(path),
                    field=_where(node, (*loc, key)) + dotted,
                    fix=f"remove it; put the secret in an environment variable and name it "
                        f"with {key}_env (e.g. token_env: HUBSPOT_TOKEN_ACME)")
            _reject_secrets(value, path, node, (*loc, key))


def _bad_name(exc: ValidationError) -> bool:
    return any(tuple(e.get("loc", ())) == ("name",) for e in exc.errors())


def _name_from_file(path: Path) -> ClientConfigError:
    """The file has no ``name:``, so the client is named after the file, and the file
    name is not a usable client name: say so, and suggest one."""
    folded = unicodedata.normalize("NFKD", path.stem.lower().translate(_FOLD))
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c))
    suggestion = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]", "-", ascii_name)).strip("-_")
    suggestion = suggestion or "my-client"
    return ClientConfigError(
        f"the file has no name: field, so the client is named after the file "
        f"({path.stem!r}), and a client name may only use lower-case letters a-z, digits, "
        f"'-' and '_'", file=str(path), field="file name",
        fix=f"rename the file to {suggestion}{path.suffix}, or add the line "
            f"name: {suggestion} to it")


_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "œ": "oe", "ß": "ss", "ð": "d",
                       "þ": "th", "ł": "l", "đ": "d", " ": "-", ".": "-"})


def _translate(exc: ValidationError, path: Path, node: yaml.Node | None) -> ClientConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err.get("loc", ()) if not str(p).startswith("function-"))
    # a token pasted where a key belongs is never echoed either
    dotted = ".".join("<something that looks like a token>" if looks_like_secret(str(p))
                      else str(p) for p in loc) or "(top level)"
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    message, _, fix = message.partition("; fix: ")
    pattern = (err.get("ctx") or {}).get("pattern")
    if err.get("type") == "string_pattern_mismatch" and pattern in PATTERN_TEXT:
        value = str(err.get("input"))
        what, fix = PATTERN_TEXT[pattern]
        shown = "the value" if looks_like_secret(value) else repr(value)
        message = f"{shown} {what}"
    if not fix:
        fix = {"missing": f"add {dotted}", "extra_forbidden":
               f"remove or rename {dotted!r} (see config/clients/acme-hubspot.yaml)",
               "literal_error": "use one of the values listed"}.get(
                   err.get("type", ""), "see config/clients/acme-hubspot.yaml")
    return ClientConfigError(message, file=str(path), field=_where(node, loc) + dotted, fix=fix)


def _where(node: yaml.Node | None, loc: tuple) -> str:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and \
                part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return f"line {line}: " if line else ""

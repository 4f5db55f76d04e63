"""Configuration, validated once at start-up into frozen objects.

Global settings come from the environment (``CONNECTOR_`` prefix, or a ``.env`` file);
each client is one YAML file in the config directory (``config/clients/<name>.yaml``).
Tokens and passwords are never in YAML: a client names the environment variable that
holds its token (``crm.token_env``), read only when the token is needed.

``settings`` (the process), ``client`` and ``actions`` (the sections of a client file),
``loading`` (file to objects), ``messages`` (validation errors for people), ``secrets``
(environment-variable names and their values).
"""

from connector.config.actions import (
    GuardConfig,
    InviteConfig,
    NotifyConfig,
    PersonConfig,
    SmtpConfig,
    UnsubscribeConfig,
)
from connector.config.client import (
    ClientConfig,
    CRMConfig,
    RateLimitConfig,
    ScheduleConfig,
    ScorePropertyConfig,
    WebhooksConfig,
)
from connector.config.loading import ClientSet, load_client, load_clients
from connector.config.secrets import dotenv_secret, looks_like_secret
from connector.config.settings import Settings, load_settings

__all__ = [
    "CRMConfig",
    "ClientConfig",
    "ClientSet",
    "GuardConfig",
    "InviteConfig",
    "NotifyConfig",
    "PersonConfig",
    "RateLimitConfig",
    "ScheduleConfig",
    "ScorePropertyConfig",
    "Settings",
    "SmtpConfig",
    "UnsubscribeConfig",
    "WebhooksConfig",
    "dotenv_secret",
    "load_client",
    "load_clients",
    "load_settings",
    "looks_like_secret",
]

"""Process-wide settings: environment variables with the ``CONNECTOR_`` prefix, or the
``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.errors import ClientConfigError


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


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "CONNECTOR_" + "_".join(str(p) for p in err["loc"]).upper()
        raise ClientConfigError(err["msg"], file="environment", field=name,
                                fix="correct or unset it (see .env.example)") from None

"""Secrets: a client file names the environment variable that holds each secret; the
value is read from the environment (or the ``.env`` file) only when it is needed, and a
value that looks like a token is never echoed in an error."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from connector.errors import ClientConfigError

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
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


def env_var_name(value: str, field: str, example: str) -> str:
    """Validate the NAME of an environment variable (never echo a pasted secret)."""
    if looks_like_secret(value):
        raise ValueError(f"the value of {field} looks like a token itself; fix: put the "
                         f"token in .env or an environment variable and name that variable "
                         f"here, e.g. {field.split('.')[-1]}: {example}")
    if not ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name; fix: use "
                         f"capitals, digits and underscores, e.g. {example}")
    return value


def read_secret(var: str, field: str, env: Mapping[str, str] | None, file: str) -> str:
    """The secret named ``var``: the environment first, then the ``.env`` file in the
    working directory (where ``.env.example`` and the error below send users). ``file``
    is the client file that names ``var``, for the error."""
    raw = (env if env is not None else os.environ).get(var)
    value = raw if raw and raw.strip() else dotenv_secret(var)
    if not value:
        fix = (f"export {var}=<secret> or put {var}=<secret> in {DOTENV.resolve()} "
               "(never in the YAML file)")
        if raw is not None or _dotenv_names(var):
            where = "in the environment" if raw is not None else f"in {DOTENV.resolve()}"
            raise ClientConfigError(f"environment variable {var} is set {where} but empty",
                                    file=file, field=field, fix=f"give it the secret: {fix}")
        raise ClientConfigError(f"environment variable {var} is not set", file=file,
                                field=field, fix=fix)
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

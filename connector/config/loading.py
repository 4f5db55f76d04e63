"""Loading client files: read the YAML, refuse secrets written in it, validate it into a
``ClientConfig`` and resolve the paths it names beside the file; a folder of them loads
into a ``ClientSet`` where one broken file never stops the others."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connector.config.client import ClientConfig
from connector.config.messages import bad_name, name_from_file, translate, where
from connector.config.secrets import SECRET_KEYS
from connector.errors import ClientConfigError


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
        if not named and bad_name(exc):
            raise name_from_file(p) from None
        raise translate(exc, p, node) from None
    rules = _resolve(client.rules, p)
    if not rules.exists():
        raise ClientConfigError(f"rules file {client.rules} does not exist", file=str(p),
                                field=where(node, ("rules",)) + "rules",
                                fix="point rules: at a file such as ../rules/default.yaml "
                                    "(relative to this file)")
    if rules.is_dir():
        raise ClientConfigError(f"rules: {client.rules} is a folder, not a rules file",
                                file=str(p), field=where(node, ("rules",)) + "rules",
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
                    field=where(node, (*loc, key)) + dotted,
                    fix=f"remove it; put the secret in an environment variable and name it "
                        f"with {key}_env (e.g. token_env: HUBSPOT_TOKEN_ACME)")
            _reject_secrets(value, path, node, (*loc, key))



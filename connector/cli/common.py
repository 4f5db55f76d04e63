"""What every operational command shares: settings, clients, the store, error exits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from connector import logs
from connector.errors import ConfigError, ConnectorError, CRMError, LeaseHeld, StateError

if TYPE_CHECKING:
    from connector.config import ClientConfig, ClientSet, Settings
    from connector.store.base import Store

console = Console()
err_console = Console(stderr=True)

# The exit statuses, as README.md "Exit status" documents them
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_BUSY = 3
EXIT_GUARD = 4  # sync/resync: the run guard held mass invites or unsubscribes
EXIT_WORK_LEFT = 5  # sync/resync finished but left work undone (actions, score writes)
EXIT_SIGNAL = 128  # + the signal's number: stopped by a signal


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the connector's errors into one clear line and an exit code, no traceback."""
    try:
        yield
    except ConfigError as exc:
        err_console.print(f"[red]error:[/] {escape(logs.mask(str(exc)))}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except LeaseHeld as exc:
        err_console.print(f"[yellow]busy:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BUSY) from None
    except (CRMError, StateError, ConnectorError) as exc:
        err_console.print(f"[red]error:[/] {escape(logs.mask(str(exc)))}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    except ModuleNotFoundError as exc:  # an optional part not installed: name its extra
        from connector.cli.extras import extra_for, install_hint

        extra = extra_for(exc.name or "")
        if extra is None:
            raise
        _say_missing(install_hint(extra, [exc.name or "?"]))


def need_extra(extra: str) -> None:
    """Stop a command whose optional dependencies (pip extra) are not installed, with one
    line naming the extra and the install command."""
    from connector.cli.extras import install_hint, missing

    if modules := missing(extra):
        _say_missing(install_hint(extra, modules))


def _say_missing(hint: str) -> NoReturn:
    err_console.print(f"[red]error:[/] {escape(hint)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_CONFIG)


def settings_and_clients(config_dir: Path | None, log_format: str | None = None,
                         ) -> tuple[Settings, ClientSet]:
    """Settings and every client that loads; each broken client file is named in a
    warning (and in ``clients.broken``), and the other clients go on."""
    from connector.config import load_clients, load_settings

    settings = load_settings()
    if config_dir is not None:
        settings = settings.model_copy(update={"config_dir": config_dir})
    logs.setup(settings.log_level, log_format or settings.log_format)
    clients = load_clients(Path(settings.config_dir))
    warn_broken(clients)
    return settings, clients


def warn_broken(clients: dict[str, ClientConfig]) -> None:
    """One line per client file that could not be loaded (its clients are left out)."""
    for error in getattr(clients, "broken", {}).values():
        err_console.print(f"[yellow]warning:[/] skipped a broken client file: "
                          f"{escape(logs.mask(str(error)))}", highlight=False, soft_wrap=True)


def pick(clients: dict[str, ClientConfig], name: str) -> ClientConfig:
    if name not in clients:
        broken = clients.broken_for(name) if hasattr(clients, "broken_for") else None
        if broken is not None:
            raise broken
        known = ", ".join(sorted(clients)) or "none"
        raise ConfigError(f"no client named {name!r} (known: {known})", field="--client",
                          fix="use one of the names above, or add config/clients/<name>.yaml")
    return clients[name]


def output_path(path: Path, option: str, *, create: bool = False) -> Path:
    """Check before any work that ``path`` can be written: its folder exists (``create``:
    is made when missing)."""
    folder = path.expanduser().resolve().parent
    if create and not folder.exists():
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True)
    if not folder.is_dir():
        if folder.exists():
            raise ConfigError(f"{folder} is a file, not a folder", file=str(path),
                              field=option, fix="give a path inside a folder")
        raise ConfigError(f"the folder {folder} does not exist", file=str(path), field=option,
                          fix=f"create it first (mkdir -p {folder}) or give another path")
    return path


def store_for(settings: Settings) -> Store:
    from connector.store import open_store

    return open_store(settings.state_url)


def where_state_lives(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(settings.state_url)
    if url.drivername.startswith("sqlite") and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)



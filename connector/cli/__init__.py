"""Command line interface. Each module in this package registers its commands on ``app``."""

from __future__ import annotations

import importlib
import pkgutil

from connector.cli.app import app


def _load_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_cmd") or info.name.endswith("_cmds"):
            importlib.import_module(f"{__name__}.{info.name}")


def main() -> None:
    """Console-script entry point."""
    _load_commands()
    app()


__all__ = ["app", "main"]

"""The optional parts of connector and the pip extra each one needs.

A sync worker installs only ``connector`` (the sync, the scheduler, the state store); the
demo, the sandboxes, the evaluation and the spreadsheet export come with extras. A command
whose extra is missing says which one to install, in one line (``connector.cli.common``).
"""

from __future__ import annotations

import importlib.util

# extra -> the modules it brings (import names), as declared in pyproject.toml
EXTRAS: dict[str, tuple[str, ...]] = {
    "demo": ("werkzeug", "aiosmtpd"),
    "sandbox": ("werkzeug", "aiosmtpd"),
    "evaluate": ("numpy", "sklearn"),
    "sheet": ("openpyxl",),
    "postgres": ("psycopg",),
    "queue": ("celery",),
    "serve": ("starlette", "uvicorn", "prometheus_client"),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [name for name in EXTRAS[extra] if not _installed(name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder refused it, or sys.modules holds None
        return False


def install_hint(extra: str, modules: list[str]) -> str:
    """One line: what is missing and the command that installs it."""
    return (f"this needs the optional dependencies [{extra}] ({', '.join(modules)} not "
            f"installed); fix: pip install 'connector[{extra}]' (in a checkout: "
            f"pip install -e '.[{extra}]')")


def extra_for(module: str) -> str | None:
    """The extra that brings ``module`` (a dotted import name), or None."""
    root = module.split(".")[0]
    return next((extra for extra, names in EXTRAS.items() if root in names), None)

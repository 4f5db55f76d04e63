"""Every exception class connector defines is in the error tree that connector/errors.py's
docstring draws, so a caller catching ``ConnectorError`` knows what it gets (issue 23)."""

from __future__ import annotations

import importlib
import pkgutil

import connector
from connector import errors, stopping
from connector.errors import ConnectorError

# not errors, on purpose outside ConnectorError (the docstring says why)
OUTSIDE = {stopping.Stopped}


def _exception_classes() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(connector.__path__, "connector."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseException)
                    and value.__module__ == info.name):
                found.add(value)
    return found


def test_every_exception_class_is_in_the_tree_and_drawn():
    classes = _exception_classes()
    assert errors.MailError in classes and stopping.Stopped in classes  # the walk sees them
    outside = {c for c in classes if not issubclass(c, ConnectorError)}
    assert outside == OUTSIDE
    undrawn = {c.__qualname__ for c in classes if f" {c.__qualname__}" not in errors.__doc__}
    assert undrawn == set()

"""The contract suite runs against every harness found as ``harness_*.py`` here."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population

HERE = Path(__file__).parent


def _harness_modules() -> dict[str, object]:
    found = {}
    for path in sorted(HERE.glob("harness_*.py")):
        spec = importlib.util.spec_from_file_location(f"contract_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.NAME] = module
    return found


HARNESSES = _harness_modules()


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(60, seed=11, now=datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture(params=sorted(HARNESSES))
def harness(request, population):
    clock = FakeClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
    h = HARNESSES[request.param].make(population, clock)
    yield h
    h.close()

"""The population the company and account tests seed the sandboxes with, and who works
where in it (worked out from the population, not read from a sandbox)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from connector.sandbox.population import Population


@pytest.fixture(scope="session")
def company_population() -> Population:
    return Population(60, seed=4)


@pytest.fixture(scope="session")
def colleagues(company_population: Population) -> dict[str, list[str]]:
    """Company name -> the ids of the contacts whose ``company`` field names it."""
    out: dict[str, list[str]] = defaultdict(list)
    for person in company_population:
        out[person.contact.fields["company"]].append(person.contact.id)
    return dict(out)

"""A seeded, CRM-neutral population of contacts for the sandboxes, demo, tests and benchmarks.

Contact ``i`` is a pure function of ``(seed, i)``: a sandbox can serve a million contacts
without holding them in memory, and two sandboxes given the same seed hold the same people.

Ground truth: whether a contact became a customer is drawn from a *hidden propensity*
that correlates with behaviour and fit but is deliberately not the default rules (pricing
and case-study pages, seniority and company size weigh most; the contact page little), so
that evaluation and learned weights have something real to find.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connector.models import Contact, Event, EventType, Owner

FIRST_NAMES = ("Anna", "Lars", "Sofie", "Mikkel", "Ingrid", "Erik", "Maja", "Jonas", "Linnea",
               "Marcus", "Freja", "Oskar", "Nora", "Emil", "Ida", "Henrik", "Sara", "Ahmed",
               "Yusuf", "Mei")
LAST_NAMES = ("Jensen", "Nielsen", "Hansen", "Andersson", "Johansson", "Larsen", "Berg",
              "Olsen", "Lindqvist", "Dahl", "Karlsson", "Holm", "Eriksen", "Nguyen", "Kaya")
SENIOR_TITLES = ("CEO", "CMO", "Head of Marketing", "Marketing Director", "Founder",
                 "VP Sales", "Managing Director")
OTHER_TITLES = ("Marketing Manager", "Marketing Coordinator", "Content Manager",
                "Sales Manager", "Developer", "Designer", "Consultant", "Office Manager")
NEGATIVE_TITLES = ("Student", "Intern", "Job seeker", "Recruiter")
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Consulting", "Healthcare", "Finance",
              "Education", "Hospitality")
TARGET_INDUSTRIES = frozenset({"Software", "Manufacturing", "Finance"})
COUNTRIES = ("DK", "SE", "NO", "DE", "FI", "GB", "US")
COMPETITOR_DOMAINS = ("rivalagency.com", "competitor-digital.se")
FREE_MAIL = ("gmail.com", "hotmail.com", "outlook.com")
SERVICES = ("marketing-automation", "hubspot", "seo", "web-design", "content-marketing")
CASES = ("tenant-partner", "nordic-steel", "fjord-retail", "oak-finance")
GUIDES = ("guide-inbound-marketing", "guide-marketing-automation", "ebook-seo-basics",
          "guide-content-strategy")
SITE = "https://www.example-agency.com"

OWNERS = (
    Owner(id="101", name="Linnea Berg", email="linnea@example-agency.com"),
    Owner(id="102", name="Marcus Holm", email="marcus@example-agency.com"),
    Owner(id="103", name="Sofie Dahl", email="sofie@example-agency.com"),
)


@dataclass(frozen=True, slots=True)
class Person:
    """One generated contact with its behaviour and (hidden) outcome."""

    contact: Contact
    events: tuple[Event, ...]
    propensity: float


TruthFn = Callable[[Contact, tuple[Event, ...]], float]


class Population:
    """``size`` deterministic contacts whose events fall in the ``days`` before ``now``.

    ``truth`` replaces the hidden propensity (a function returning a probability), e.g. to
    build a population where the default rules are the truth.
    """

    def __init__(self, size: int, seed: int = 7, now: datetime | None = None, days: int = 180,
                 truth: TruthFn | None = None, id_offset: int = 1) -> None:
        self.size = size
        self.seed = seed
        self.now = (now or datetime(2026, 11, 1, tzinfo=UTC)).astimezone(UTC)
        self.days = days
        self.truth = truth
        self.id_offset = id_offset
        self.owners: tuple[Owner, ...] = OWNERS

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Person]:
        for i in range(self.size):
            yield self.person(i)

    def contact_id(self, i: int) -> str:
        return str(i + self.id_offset)

    def person(self, i: int) -> Person:
        """The ``i``-th person (0-based); the same for the same seed, always."""
        rng = random.Random(self.seed * 1_000_003 + i)
        cid = self.contact_id(i)
        created = self.now - timedelta(seconds=rng.uniform(1, self.days * 86400))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        kind = rng.random()
        if kind < 0.08:
            title = rng.choice(NEGATIVE_TITLES)
        elif kind < 0.30:
            title = rng.choice(SENIOR_TITLES)
        else:
            title = rng.choice(OTHER_TITLES)
        size = int(math.exp(rng.uniform(math.log(2), math.log(5000))))
        industry = rng.choice(INDUSTRIES)
        company = f"{last} {rng.choice(('ApS', 'AB', 'AS', 'GmbH', 'Ltd'))}"
        domain_roll = rng.random()
        if domain_roll < 0.03:
            domain = rng.choice(COMPETITOR_DOMAINS)
        elif domain_roll < 0.25:
            domain = rng.choice(FREE_MAIL)
        else:
            domain = f"{last.lower()}-{i % 997}.example.com"
        email = f"{first.lower()}.{last.lower()}.{cid}@{domain}"
        engagement = rng.betavariate(0.9, 2.6)
        events = self._events(rng, cid, created, engagement)
        senior = title in SENIOR_TITLES
        owner = rng.choice(self.owners) if rng.random() < 0.8 else None
        fields = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "job_title": title,
            "company": company,
            "company_size": str(size),
            "industry": industry,
            "country": rng.choice(COUNTRIES),
            "lifecycle_stage": "lead",
        }
        last_event = max((e.occurred_at for e in events), default=created)
        updated = min(self.now, last_event + timedelta(seconds=rng.uniform(0, 3600)))
        contact = Contact(id=cid, email=email, fields=fields,
                          owner_id=owner.id if owner else None,
                          created_at=created, updated_at=updated)
        if self.truth is not None:
            propensity = self.truth(contact, events)
        else:
            propensity = _hidden_propensity(title, senior, size, industry, domain, events)
        customer = rng.random() < propensity
        if customer:
            won_at = min(self.now, last_event + timedelta(days=rng.uniform(1, 30)))
            fields["lifecycle_stage"] = "customer"
            contact = Contact(id=cid, email=email, fields=fields, owner_id=contact.owner_id,
                              created_at=created, updated_at=max(updated, won_at),
                              is_customer=True, customer_at=won_at)
        return Person(contact=contact, events=events, propensity=propensity)

    def _events(self, rng: random.Random, cid: str, created: datetime,
                engagement: float) -> tuple[Event, ...]:
        span = max(1.0, (self.now - created).total_seconds())
        out: list[Event] = []

        def at() -> datetime:
            # activity clusters towards the end of the contact's life for engaged people
            frac = rng.random() ** (1.0 - 0.7 * engagement)
            return created + timedelta(seconds=span * frac)

        def add(etype: str, **kw: object) -> None:
            out.append(Event(id=f"{etype}-{cid}-{len(out)}", contact_id=cid, type=etype,
                             occurred_at=at(), **kw))  # type: ignore[arg-type]

        visits = _poisson(rng, 1 + 14 * engagement)
        for _ in range(visits):
            roll = rng.random()
            if roll < 0.30:
                url = f"{SITE}/blog/post-{rng.randint(1, 60)}"
            elif roll < 0.45:
                url = f"{SITE}/"
            elif roll < 0.65:
                url = f"{SITE}/services/{rng.choice(SERVICES)}"
            elif roll < 0.75:
                url = f"{SITE}/cases/{rng.choice(CASES)}"
            elif roll < 0.85:
                url = f"{SITE}/pricing"
            elif roll < 0.93:
                url = f"{SITE}/contact"
            else:
                url = f"{SITE}/about"
            add(EventType.PAGE_VIEW, url=url)
        opens = _poisson(rng, 8 * engagement)
        for _ in range(opens):
            add(EventType.EMAIL_OPEN, email_id=f"nl-{rng.randint(1, 26)}")
        for _ in range(_poisson(rng, 3 * engagement * engagement)):
            add(EventType.EMAIL_CLICK, email_id=f"nl-{rng.randint(1, 26)}",
                url=f"{SITE}/services/{rng.choice(SERVICES)}")
        for _ in range(_poisson(rng, 1.6 * engagement)):
            add(EventType.DOWNLOAD, name=rng.choice(GUIDES), url=f"{SITE}/guides")
        if rng.random() < 0.15 + 0.5 * engagement:
            add(EventType.FORM_SUBMISSION, name=rng.choice(("newsletter-signup", "contact-form",
                                                            "webinar-registration")))
        out.sort(key=lambda e: e.occurred_at)
        return tuple(out)


def company_domain(name: str) -> str:
    """A company's web domain, from its name ("Holm ApS" -> holm-aps.example.com): the
    sandboxes' companies (HubSpot) and accounts (ActiveCampaign) of the people's
    ``company`` field carry it."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".example.com"


def _hidden_propensity(title: str, senior: bool, size: int, industry: str, domain: str,
                       events: tuple[Event, ...]) -> float:
    pricing = sum(1 for e in events if e.url and e.url.endswith("/pricing"))
    cases = sum(1 for e in events if e.url and "/cases/" in e.url)
    clicks = sum(1 for e in events if e.type == EventType.EMAIL_CLICK)
    logit = -5.4
    logit += 1.6 if senior else 0.0
    logit += 0.9 * math.log10(max(size, 1)) - 1.0
    logit += 1.4 * min(pricing, 2)
    logit += 0.8 * min(cases, 3)
    logit += 0.3 * min(clicks, 3)
    logit += 0.7 if industry in TARGET_INDUSTRIES else 0.0
    if title in NEGATIVE_TITLES or domain in COMPETITOR_DOMAINS:
        logit -= 4.0
    return 1.0 / (1.0 + math.exp(-logit))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small means used here."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return min(k, 80)
        k += 1

"""Synthetic news articles for benchmarks: varied, realistic-looking, reproducible.

Articles are assembled from sentence templates filled with names, places,
organisations and numbers, so no two bodies are alike, then wrapped in the kind
of site furniture the cleaner removes (breadcrumbs, related headlines, share
prompts, copyright lines). A fixed seed gives the same corpus every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

PEOPLE = [
    "Maria Santos",
    "Kenji Watanabe",
    "Amara Okafor",
    "Lars Eriksson",
    "Priya Raman",
    "Tomasz Nowak",
    "Fatima Haddad",
    "Daniel Brooks",
    "Chen Wei",
    "Isabel Moreno",
    "Olusegun Adeyemi",
    "Hannah Vogel",
    "Rafael Costa",
    "Aisha Khan",
    "Pierre Laurent",
]
ROLES = [
    "the finance minister",
    "the chief executive",
    "the union leader",
    "a senior official",
    "the central bank governor",
    "the coach",
    "the lead researcher",
    "the mayor",
    "an analyst at a London brokerage",
    "the company's spokesperson",
    "the opposition leader",
]
PLACES = [
    "Lagos",
    "Jakarta",
    "Rotterdam",
    "São Paulo",
    "Warsaw",
    "Nairobi",
    "Osaka",
    "Montreal",
    "Lyon",
    "Melbourne",
    "Istanbul",
    "Santiago",
    "Hamburg",
    "Mumbai",
    "Seville",
    "Denver",
]
ORGS = [
    "the European Commission",
    "the World Bank",
    "the port authority",
    "the health ministry",
    "the national statistics office",
    "a regional utility",
    "the football federation",
    "the space agency",
    "the largest steelmaker",
    "a consortium of lenders",
    "the city council",
    "the competition regulator",
    "a battery start-up",
    "the transport union",
]
THINGS = [
    "a new rail line",
    "the budget",
    "interest rates",
    "the merger",
    "vaccine supplies",
    "the final round",
    "emissions targets",
    "wage talks",
    "the satellite launch",
    "housing subsidies",
    "export controls",
    "the stadium project",
    "chip production",
    "flood defences",
    "the pension reform",
    "grain shipments",
]
VERBS = [
    "approved",
    "rejected",
    "delayed",
    "announced",
    "criticised",
    "expanded",
    "cut",
    "reviewed",
    "backed",
    "suspended",
    "defended",
    "unveiled",
]
TEMPLATES = [
    "{org} {verb} {thing} on {day}, a decision that {person}, {role}, said would affect {n} "
    "people in {place}.",
    "Speaking in {place}, {person} said {thing} had been {verb} after months of talks with {org}.",
    "\u201cWe did not take this lightly,\u201d said {person}, {role}, adding that {thing} would "
    "cost about {n} million euros over {k} years.",
    "Figures published by {org} showed that {thing} grew by {p} percent in the last quarter, "
    "the fastest pace since {year}.",
    "Critics in {place} argued that {thing} was {verb} too quickly and that {org} had ignored "
    "warnings from {person}.",
    "The plan, first {verb} in {year}, would also change how {org} handles {thing} in {place}.",
    "{person} told reporters on {day} that {k} of the {n} proposals on {thing} were still open.",
    "Analysts expect {org} to revisit {thing} before the end of the year, with {p} percent of "
    "economists polled predicting a further change.",
    "In {place}, residents queued for hours as {org} {verb} {thing}, local media reported.",
    "Shares in {org} moved {p} percent after {person}, {role}, {verb} {thing}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HEADLINE_WORDS = [
    "Talks",
    "Deal",
    "Vote",
    "Crisis",
    "Record",
    "Plan",
    "Warning",
    "Surge",
    "Probe",
    "Strike",
    "Reform",
    "Launch",
    "Merger",
    "Rally",
    "Ban",
    "Budget",
]
FURNITURE_HEAD = ["Home » News » {place}", "Share this article", "Follow us on Facebook and X"]
FURNITURE_TAIL = [
    "Related Articles",
    "Subscribe to our newsletter for the latest news, delivered every morning.",
    "\u00a9 {year} Example Media Group. All rights reserved.",
]


def _sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        org=rng.choice(ORGS),
        verb=rng.choice(VERBS),
        thing=rng.choice(THINGS),
        day=rng.choice(DAYS),
        person=rng.choice(PEOPLE),
        role=rng.choice(ROLES),
        place=rng.choice(PLACES),
        n=rng.randint(2, 900),
        k=rng.randint(2, 12),
        p=round(rng.uniform(0.1, 19.9), 1),
        year=rng.randint(1995, 2023),
    )


def headline(rng: random.Random) -> str:
    return f"{rng.choice(PLACES)} {rng.choice(HEADLINE_WORDS)} Over {rng.choice(THINGS).title()}"


def article_body(rng: random.Random, paragraphs: tuple[int, int] = (4, 9)) -> str:
    paras = []
    for _ in range(rng.randint(*paragraphs)):
        sentences = [_sentence(rng) for _ in range(rng.randint(2, 4))]
        paras.append(" ".join(s[0].upper() + s[1:] for s in sentences))
    return "\n\n".join(paras)


def raw_article_text(rng: random.Random) -> str:
    """A body wrapped in site furniture, as a scraper would deliver it."""
    place, year = rng.choice(PLACES), rng.randint(2015, 2024)
    head = [line.format(place=place) for line in FURNITURE_HEAD[: rng.randint(0, 3)]]
    related = [headline(rng) for _ in range(rng.randint(0, 5))]
    tail = [FURNITURE_TAIL[0], *related] if related else []
    tail += [line.format(year=year) for line in FURNITURE_TAIL[1:]]
    return "\n\n".join([*head, article_body(rng), *tail])


def articles(count: int, seed: int = 7) -> Iterator[dict]:
    """`count` JSON-ready article objects (fields as a .jsonl input line)."""
    rng = random.Random(seed)
    for index in range(count):
        yield {
            "id": f"bench-{index:07d}",
            "url": f"https://news.example/{index}",
            "title": headline(rng),
            "published_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "text": raw_article_text(rng),
        }

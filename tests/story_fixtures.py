"""Hand-written news reports for the story tests: two events of the same kind in one
week (earthquakes, elections), a follow-up a day later, reports from other outlets,
and unrelated news, as the stage would see them (title, body, publication time)."""

from __future__ import annotations

from newsbeam.schemas.article import Article, Source

QUAKE_TURKEY = (
    "Earthquake kills 14 in eastern Turkey",
    "A magnitude 6.1 earthquake struck Malatya province in eastern Turkey on Monday, "
    "killing at least 14 people and injuring more than 200, the disaster agency AFAD said. "
    "Rescue teams searched the rubble of collapsed buildings in the town of Yesilyurt as "
    "aftershocks shook the region. Interior Minister Ali Yerlikaya said 37 buildings had "
    "collapsed and tents were being sent to Malatya.",
)
QUAKE_TURKEY_OTHER_OUTLET = (
    "Malatya quake: at least 14 dead as buildings collapse",
    "At least 14 people died when a 6.1 magnitude quake hit Malatya in Turkey's east on "
    "Monday. AFAD, the Turkish disaster management agency, said more than 200 were hurt. "
    "In Yesilyurt, rescuers pulled survivors from collapsed apartment blocks; Ali Yerlikaya, "
    "the interior minister, said 37 buildings came down.",
)
QUAKE_TURKEY_FOLLOW_UP = (
    "Death toll from Malatya earthquake rises to 23",
    "The number of people killed by Monday's magnitude 6.1 earthquake in Malatya rose to 23 "
    "on Tuesday, Turkey's AFAD said, as rescue work in Yesilyurt ended. Interior Minister "
    "Ali Yerlikaya visited the province and promised new homes for families whose buildings "
    "collapsed.",
)
QUAKE_PERU = (
    "Earthquake in southern Peru kills three",
    "A magnitude 5.8 earthquake hit the Arequipa region of southern Peru on Wednesday, "
    "killing three people and damaging homes in the province of Caraveli, Peru's civil "
    "defence institute INDECI said. President Dina Boluarte said help was on its way to "
    "Caraveli, where roads were blocked by landslides.",
)
ELECTION_PORTUGAL = (
    "Portugal's centre-right AD narrowly wins snap election",
    "The centre-right Democratic Alliance led by Luis Montenegro won Portugal's snap "
    "election on Sunday with 29.5% of the vote, just ahead of the Socialists of Pedro Nuno "
    "Santos, while the far-right Chega party quadrupled its seats to 48.",
)
ELECTION_SLOVAKIA = (
    "Pellegrini wins Slovakia's presidential election",
    "Peter Pellegrini, an ally of Prime Minister Robert Fico, won Slovakia's presidential "
    "run-off on Saturday with 53% of the vote, defeating the liberal former foreign "
    "minister Ivan Korcok, the statistics office said.",
)
UNRELATED = (
    (
        "Central bank holds interest rates",
        "The European Central Bank kept its deposit rate at 4% on Thursday and said "
        "inflation in the euro area was falling faster than expected.",
    ),
    (
        "Chicago Marathon: Kiptum sets world record",
        "Kenya's Kelvin Kiptum ran the Chicago Marathon in 2:00:35 on Sunday, a world "
        "record, ahead of Benson Kipruto and Daniel Mateiko.",
    ),
    (
        "Museum returns stolen Vermeer",
        "The Rijksmuseum in Amsterdam said a Vermeer painting stolen in 1971 had been "
        "returned after a private collector in Belgium contacted the police.",
    ),
)


def story_article(
    article_id: str, report: tuple[str, str], published_at: str | None, **changes
) -> Article:
    title, text = report
    return Article(
        id=article_id,
        source=Source(kind="file", uri=f"file:///tests/{article_id}.txt"),
        raw=f"{title}\n{text}",
        title=title,
        text=text,
        published_at=published_at,
        ingested_at="2024-04-01T00:00:00Z",
        **changes,
    )


def week_of_news() -> list[Article]:
    """Unrelated news, two earthquakes and two elections in one week, a follow-up."""
    day = "2024-03-{:02d}T{:02d}:00:00Z"
    articles = [
        story_article(f"misc-{n}", report, day.format(3, 8 + n))
        for n, report in enumerate(UNRELATED)
    ]
    articles += [
        story_article("turkey-1", QUAKE_TURKEY, day.format(4, 9)),
        story_article("turkey-2", QUAKE_TURKEY_OTHER_OUTLET, day.format(4, 11)),
        story_article("portugal", ELECTION_PORTUGAL, day.format(4, 12)),
        story_article("turkey-3", QUAKE_TURKEY_FOLLOW_UP, day.format(5, 10)),
        story_article("peru", QUAKE_PERU, day.format(6, 9)),
        story_article("slovakia", ELECTION_SLOVAKIA, day.format(7, 8)),
    ]
    return articles


def week_with_a_duplicate() -> list[Article]:
    """The week of news and an exact copy of the first Turkish report (labelled by
    dedup as such): it takes that report's story."""
    copy = story_article(
        "turkey-copy",
        QUAKE_TURKEY,
        "2024-03-04T09:30:00Z",
        duplicate={"status": "exact", "of": "turkey-1", "similarity": 1.0},
    )
    return [*week_of_news(), copy]

"""A generator of news-like articles with known duplicates, for bench_dedup.py.

Articles are built from a sentence grammar (templates with inline synonym
choices, entity slots and a clause grammar for quotes) over eight beats.
What makes the set hard rather than easy:

- Same-event reports: each event gets 1-4 independent reports that share the
  event's people, places, organisations, numbers and one or two verbatim
  quotes (as wire quotes are reused by every outlet) — distinct articles
  with real overlap, which must stay apart.
- Follow-ups: a later story on the same event that reuses two background
  paragraphs of an earlier report — distinct, must stay apart.
- Press releases: short company briefs that share a long "About" and
  forward-looking-statements footer — distinct, must stay apart.
- Quoted statements: a short article built around a long official statement
  (60-110 words) that a report of the same event also prints in full — the
  short one is largely contained in the report, but is not a copy of it.
- Summaries: a short brief summarising a long report of the same event in
  its own words (same people, numbers and headline) — not a copy.
- Generic newsroom phrasing shared by every article (background similarity).
- Planted near duplicates: syndicated copies of a report with 1-3 edits from
  a realistic set (new headline, dateline style, re-ordered paragraphs, an
  added or dropped paragraph, outlet boilerplate, a correction, light copy
  editing at 0.5-4 % of words, typographic/whitespace changes, a shortened
  wire version (the first 35-75 % of the paragraphs, as outlets cut wire copy
  to length), light character noise (1 % of letters substituted by OCR
  confusions or neighbours, dropped, doubled or swapped)), plus exact
  copies. Ground truth: every copy belongs to its original's cluster.

Deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


FIRST_NAMES = _words(
    "Alicia Tom Priya Dev Ingrid Marcus Helen Luis Samuel Karen Laura Daniel Javier Fumio Yoon "
    "Amara Kofi Elena Mateo Sofia Hiroshi Mei Rahul Ananya Oliver Charlotte Lukas Anna Pierre "
    "Camille Giulia Marco Fatima Omar Aisha Yusuf Olga Dmitri Katarzyna Piotr Noah Emma Liam Ava "
    "Chloe Ethan Grace Isaac Nadia Tariq Lena Jonas Sven Astrid Carlos Lucia Rosa Diego Ines Bruno"
)
LAST_NAMES = _words(
    "Fernandez Ruddock Nair Malhotra Solberg Webb Kowalczyk Ortega Oduya Blythe Penhall Reyes "
    "Molina Tanaka Park Mensah Okafor Petrova Garcia Rossi Nakamura Chen Sharma Iyer Hughes Baker "
    "Muller Schmidt Dubois Laurent Bianchi Conti Haddad Khalil Aziz Demir Ivanova Sokolov Nowak "
    "Lewandowski Johnson Williams Brown Taylor Wilson Evans Thomas Roberts Walker Wright Clarke "
    "Hansen Larsen Lindqvist Moreno Silva Costa Pereira Santos Murphy Kelly Byrne Walsh Adeyemi"
)
PLACES = _words(
    "Riverton;Northfield;Calder Bay;Port Elsworth;Ashby;Marrow Hill;Kingsford;Lowmoor;Easton;"
    "Bellhaven;Tokyo;Seoul;Madrid;Lisbon;Oslo;Warsaw;Nairobi;Lagos;Cairo;Istanbul;Mumbai;"
    "Jakarta;Manila;Sydney;Auckland;Toronto;Chicago;Denver;Austin;Lima;Bogota;Santiago;Accra;"
    "Dakar;Helsinki;Prague;Vienna;Zurich;Hamburg;Lyon;Naples;Valencia;Porto;Gdansk;Tallinn",
    ";",
)
ORG_HEADS = _words(
    "Halvorsen Northgate Corvant Meridian Bluewater Stenhouse Arclight Redfern Kestrel Lumen "
    "Oakridge Silverline Tidewater Granite Harbor Pioneer Summit Vantage Crestmoor Ironbridge "
    "Westmark Eastfield Brightwell Calloway Fairhaven Holloway Marston Pemberton Radley Thornbury"
)
ORG_TAILS = {
    "business": ["Holdings", "Group", "Semiconductor", "Logistics", "Retail", "Capital"],
    "politics": ["Party", "Alliance", "Institute", "Foundation", "Council", "Commission"],
    "science": ["Institute", "Laboratory", "University", "Research Centre", "Observatory"],
    "health": ["Hospital", "Health Trust", "Pharmaceuticals", "Clinic", "Medical Centre"],
    "sports": ["FC", "United", "Athletic", "Rovers", "City", "Wanderers"],
    "tech": ["Systems", "Software", "Networks", "Robotics", "Labs", "Cloud"],
    "weather": ["Water Authority", "Fire Service", "Met Office", "Emergency Agency", "Port"],
    "courts": ["Law Firm", "Prosecution Service", "Police", "Court", "Bar Association"],
}
ROLES = {
    "business": [
        "chief executive",
        "chief financial officer",
        "chairman",
        "head of sales",
        "analyst",
        "spokeswoman",
        "spokesman",
        "board member",
    ],
    "politics": [
        "prime minister",
        "finance minister",
        "opposition leader",
        "senator",
        "mayor",
        "foreign minister",
        "party spokesman",
        "councillor",
    ],
    "science": [
        "lead author",
        "professor",
        "researcher",
        "project director",
        "biologist",
        "physicist",
        "climate scientist",
        "co-author",
    ],
    "health": [
        "health minister",
        "chief medical officer",
        "epidemiologist",
        "surgeon",
        "hospital director",
        "nurse",
        "public health official",
        "pharmacist",
    ],
    "sports": [
        "manager",
        "captain",
        "striker",
        "head coach",
        "goalkeeper",
        "chairman",
        "midfielder",
        "sporting director",
    ],
    "tech": [
        "chief technology officer",
        "founder",
        "engineer",
        "product manager",
        "security researcher",
        "chief executive",
        "developer",
        "analyst",
    ],
    "weather": [
        "forecaster",
        "fire chief",
        "emergency coordinator",
        "mayor",
        "hydrologist",
        "harbour master",
        "resident",
        "shop owner",
    ],
    "courts": [
        "judge",
        "prosecutor",
        "defence lawyer",
        "police chief",
        "detective",
        "witness",
        "court official",
        "attorney general",
    ],
}
NOUNS = {
    "business": [
        "quarterly results",
        "merger",
        "share buyback",
        "profit warning",
        "factory",
        "supply contract",
        "price increase",
        "takeover bid",
        "dividend",
        "layoffs",
    ],
    "politics": [
        "budget",
        "reform bill",
        "coalition deal",
        "election",
        "tariff plan",
        "sanctions package",
        "border agreement",
        "pension reform",
        "tax cut",
        "summit",
    ],
    "science": [
        "study",
        "trial",
        "discovery",
        "telescope",
        "vaccine candidate",
        "experiment",
        "survey",
        "satellite",
        "fossil find",
        "crop variety",
    ],
    "health": [
        "outbreak",
        "vaccination campaign",
        "hospital strike",
        "waiting list",
        "drug approval",
        "screening programme",
        "funding cut",
        "clinic closure",
    ],
    "sports": [
        "final",
        "transfer",
        "title race",
        "derby",
        "semi-final",
        "contract extension",
        "injury",
        "relegation battle",
        "cup run",
        "record",
    ],
    "tech": [
        "data breach",
        "product launch",
        "chip shortage",
        "software update",
        "outage",
        "acquisition",
        "privacy ruling",
        "funding round",
        "app",
        "AI model",
    ],
    "weather": [
        "storm",
        "flood",
        "heatwave",
        "wildfire",
        "drought",
        "cold snap",
        "landslide",
        "storm surge",
        "water shortage",
        "evacuation",
    ],
    "courts": [
        "trial",
        "verdict",
        "appeal",
        "investigation",
        "arrest",
        "fraud case",
        "settlement",
        "inquiry",
        "sentencing",
        "lawsuit",
    ],
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth", "first"]

# Quote grammar: opener + claim + connector + consequence.
QUOTE_OPENERS = [
    "Frankly,",
    "What we have seen this week is that",
    "I think",
    "Let me be clear:",
    "Nobody should be surprised that",
    "For the first time in years,",
    "The truth is that",
    "We always said that",
    "It is simply not acceptable that",
    "I am confident that",
    "People have told us that",
    "At the end of the day,",
    "Our position has not changed:",
]
QUOTE_CLAIMS = [
    "the {noun} has been handled badly from the start",
    "this {noun} will change the way people in {place} live",
    "the numbers speak for themselves",
    "we cannot wait another year for a decision",
    "the {noun} was never going to be easy",
    "families in {place} are paying the price",
    "the evidence points in one direction",
    "everyone at {org} worked incredibly hard on the {noun}",
    "the risks were understood by everyone involved",
    "we have the support of most people in {place}",
    "the {noun} is the most important issue we face",
    "there is still a great deal of work to do",
    "the timing of the {noun} could not have been worse",
    "we underestimated how much the {noun} would cost",
]
QUOTE_CONNECTORS = ["and", "but", "so", "and frankly", "which is why", "although", "because"]
QUOTE_ENDS = [
    "we will keep pushing until it is done",
    "I expect the next few months to be difficult",
    "we owe it to the people who depend on us",
    "the decision now lies with {org}",
    "nobody is going to walk away from the table",
    "the public deserves a clear answer",
    "we are ready for whatever comes next",
    "there will be consequences for those responsible",
    "it will take time before anyone sees the benefits",
    "I hope others will follow our example",
]

# Sentence templates. [a|b|c] is an inline choice; {slots} come from the event.
GENERIC_TEMPLATES = [
    "{person} [said|told reporters|said in a statement] on {day} that the {noun} would "
    "[go ahead|be delayed|be reviewed|be scaled back] [before the end of the year|next month|"
    "within weeks|by {month}].",
    "The {noun} comes after {n_small} months of [talks|negotiations|discussions|wrangling] "
    "between {org} and {org2}.",
    "According to figures [published|released|compiled] by {org}, the number of people affected "
    "[rose|fell|climbed|dropped] by {pct} percent in {month}, the {ordinal} [change|rise|fall] "
    "in a row.",
    '"{quote}" {person_role} [told reporters|said|told a news conference|said in an '
    "interview] in {place}.",
    "Critics [say|argue|have warned] that the {noun} [does not go far enough|goes too far|"
    "was rushed|will cost too much], [pointing to|citing] {org2}'s [estimate|forecast|warning] "
    "of {money}.",
    "{org} [declined to comment|did not respond to a request for comment|said it would "
    "comment later|would not say] [on the {noun}|when contacted on {day}|on Friday's figures].",
    "The [decision|announcement|news|ruling] [was welcomed by|drew criticism from|surprised] "
    "[residents of|officials in|businesses in|unions in] {place}, where the {noun} has been "
    "[debated|a concern|controversial] for [years|months|decades].",
    "{person_role} [is expected to|will|plans to] [meet|speak with|visit] {person2} in {place} "
    "on {day} to discuss the {noun}.",
    "About {n_big} people [attended|watched|took part in|joined] the [meeting|event|protest|"
    "hearing] in {place}, [police|organisers|officials] said.",
    "[In|During] {month}, {org} [warned|predicted|estimated] that the {noun} could [cost|save] "
    "as much as {money} over {n_small} years.",
    "It was not immediately clear [how|when|whether|why] the {noun} would [affect|change|"
    "reach] [ordinary people|small businesses|the wider region|next year's plans].",
    "The {noun} is the [largest|biggest|most significant|first] of its kind in {place} "
    "since {year}.",
    "[Shares|Bond prices|Ticket sales|Approval ratings] [rose|fell|jumped|slipped] {pct} "
    "percent after the [announcement|news|report] on {day}.",
    "{person} [added|noted|stressed] that {org} [had|would have] [no plans to|every intention "
    "to|little choice but to] [change course|raise prices|cut jobs|appeal the decision].",
    "[Officials|Analysts|Experts|Observers] [expect|predict|fear|hope] that the {noun} will "
    "[set a precedent|be copied elsewhere|face legal challenges|take years to complete].",
    "The [previous|last|most recent] {noun} [in {place}|of this kind|at {org}] [ended|was "
    "abandoned|was completed|collapsed] in {year} [after|amid] [a dispute over costs|"
    "protests|a change of government|legal action].",
    "[Residents|Workers|Parents|Small business owners] in {place} [have long complained|say|"
    "told this newspaper] that the {noun} [was decided without them|came too late|"
    "will change little|is long overdue].",
    "A [spokesperson|spokeswoman|spokesman] for {org} [confirmed|denied|would neither confirm "
    "nor deny] that [talks|contacts|meetings] with {org2} had taken place [on {day}|this week|"
    "in recent days].",
    "The [opposition|union|industry group|local council] [called for|demanded|is seeking] "
    "[an inquiry|a delay|more money|a public hearing] [into|on|before] the {noun}.",
    "{person} first [raised|flagged|proposed] the idea [in {year}|{n_small} years ago|"
    "during the last campaign], [but|although] it [stalled|was shelved|met resistance] "
    "at the time.",
    "[Until now|So far|Until last month], {org} had [refused|declined|been reluctant] to "
    "[publish|share|discuss] [its estimates|the details|any figures] [on|about] the {noun}.",
    "Details of the {noun} were [first reported|leaked|revealed] by [local media|a trade "
    "publication|a regional newspaper] [on {day}|last week|earlier this month].",
    "[Separately|Meanwhile|In a separate development], {org2} said it would [hold|publish|"
    "announce] [its own review|new figures|a response] [in {month}|next week|on {day}].",
    "The figures [exclude|do not include|leave out] [{place}|the capital|rural areas|"
    "seasonal workers], where [data|reporting|records] [is|are] [incomplete|delayed|patchy].",
]
BEAT_TEMPLATES = {
    "business": [
        "{org} [employs|has] about {n_big} [people|staff|workers] [worldwide|in {place}|across "
        "{n_small} countries].",
        "The [deal|purchase|agreement] values {org2} at {money}, including debt.",
        "[Investors|Traders|Shareholders] [had been waiting|were looking|had hoped] for "
        "[signs of|evidence of|clarity on] [recovery|growth|cost cuts] [in {place}|this year].",
        "The [firm|group|company] [blamed|cited|pointed to] [higher energy costs|weak demand|"
        "currency swings|supply problems] for the [slowdown|decline|shortfall].",
        "{org} reported [revenue|sales|net income|operating profit] of {money} for the "
        "[quarter|first half|year], [up|down] {pct} percent from a year earlier.",
        "Analysts [polled by|surveyed by|at] {org2} had on average expected {money}.",
        "The company [raised|cut|kept] its [full-year|annual] forecast [to|at] {money}.",
        "[Shares of {org}|The stock] [closed|ended|finished] {pct} percent [higher|lower] in "
        "{place}.",
    ],
    "politics": [
        "The [government|coalition|ruling party] holds {n_small} of the [seats|votes] in the "
        "[assembly|chamber|council].",
        "{person2} [said|insisted|argued] the {noun} had been [agreed|negotiated|drafted] "
        "[in good faith|behind closed doors|with the regions].",
        "[Protesters|Supporters|Demonstrators] [gathered|marched|rallied] outside the "
        "[parliament|city hall|ministry] in {place} on {day}.",
        "The [ministry|cabinet office|treasury] [estimates|expects|projects] the {noun} will "
        "[cost|raise|save] {money} [a year|over {n_small} years].",
        "The {noun} passed by {n_small} votes [after a|following a|at the end of a] "
        "[three-hour|long|heated|late-night] debate.",
        "{person_role} [accused|criticised|praised] {person2} over the handling of the {noun}.",
        "Opinion polls [suggest|show|indicate] that {pct} percent of voters [support|oppose] "
        "the {noun}.",
        "Parliament is due to [vote on|debate|review] the {noun} [in {month}|next week|"
        "before the summer recess].",
    ],
    "science": [
        "The [work|project|research] [began|started|was launched] in {year} with {n_small} "
        "[partners|teams|institutions].",
        "{person_role} said the {noun} [could|might|should] [help|allow|enable] [farmers|"
        "doctors|engineers|researchers] to [plan ahead|act sooner|save money].",
        "[Previous|Earlier|Older] [studies|surveys|models] had [suggested|found|assumed] "
        "[a much smaller|no|the opposite] effect.",
        "The [samples|data|images] will be [shared|archived|made public] [next year|in "
        "{month}|once the analysis is complete].",
        "The [results|findings|data] were published on {day} in the journal "
        "[Nature|Science|Cell|The Lancet|Field Crops Research].",
        "The team [studied|tracked|tested|sampled] {n_big} [samples|patients|plots|stars] "
        "over {n_small} years.",
        "[Independent|Other] scientists [cautioned|warned|noted] that the {noun} [needs to be|"
        "must be|should be] [repeated|confirmed|tested] [on a larger scale|elsewhere].",
        "Funding for the {noun} came from {org} and {org2}.",
    ],
    "health": [
        "[Doctors|Nurses|Paramedics] [say|report|warn] that [demand|pressure|sickness] "
        "[has risen|is rising|remains high] [since {month}|this winter|across {place}].",
        "The {noun} [will be|is being|was] [funded|paid for|run] by {org} [and|with] {org2}.",
        "[Symptoms|Cases|Admissions] [are|were] [highest|lowest|concentrated] among "
        "[older people|children|young adults|care home residents].",
        "{person_role} said [extra|more|additional] [beds|staff|clinics] would [open|be added|"
        "be available] [by {month}|within weeks|next year].",
        "{org} said {n_big} [patients|people|children|staff] had been [treated|tested|"
        "vaccinated|affected] since {month}.",
        "Waiting times at {org} [rose|fell] to {n_small} weeks, the [longest|shortest] on record.",
        "The {noun} [affects|will affect|has affected] hospitals across {place}.",
        "{person_role} urged people to [get tested|stay at home|seek advice|book an "
        "appointment] if they [felt unwell|had symptoms|were worried].",
    ],
    "sports": [
        "{person2} [was sent off|was booked|limped off|came off the bench] [in the second half|"
        "before the break|late on].",
        "[Tickets|Seats|Season passes] for the {noun} [sold out|went on sale|cost] [in "
        "minutes|on {day}|more than last year].",
        "{org} [have won|have lost|have drawn] {n_small} of their last {n_small} [games|"
        "matches|fixtures].",
        "The {noun} [will be|is] [played|held|staged] in {place} [on {day}|in {month}|next "
        "season].",
        "{org} [beat|lost to|drew with] {org2} {n_small}-{n_tiny} in front of {n_big} fans.",
        "The [goal|winner|equaliser|try] came in the {n_minute}th minute.",
        "{person} has [scored|made|played] {n_small} [goals|appearances|games] this season.",
        "The [club|team|side] [sits|is now|remains] {ordinal} in the table.",
    ],
    "tech": [
        "[Users|Customers|Developers] [reported|complained about|noticed] [problems|errors|"
        "slow service] [from early {day}|for several hours|across {place}].",
        "The {noun} [relies on|uses|is built on] [open-source software|cloud servers|custom "
        "chips|data from partners].",
        "{org2} [said|confirmed|denied] that [its|customer] [systems|data|accounts] had been "
        "[affected|exposed|targeted].",
        "[Sales|Downloads|Sign-ups] [doubled|rose {pct} percent|fell] [after the launch|"
        "in {month}|in the first week].",
        "{org} said the {noun} affected about {n_big} [users|customers|accounts|devices].",
        "The [software|service|system|app] was [restored|patched|updated|relaunched] on {day}.",
        "{person_role} said the company had [invested|spent|raised] {money} in the {noun}.",
        "Regulators in {place} [are examining|have opened an inquiry into|are reviewing] "
        "the {noun}.",
    ],
    "weather": [
        "[Schools|Roads|Rail lines|Ferries] in {place} [were closed|were suspended|remained "
        "shut] [on {day}|until further notice|for a second day].",
        "{person_role} said [sandbags|generators|water tankers] had been [sent|delivered|"
        "handed out] to [the worst-hit areas|residents|farms].",
        "[Insurers|Officials|Engineers] [estimate|put|say] the damage [at|could reach] {money}.",
        "The [river|coast|hills] [around|near|above] {place} [burst its banks|flooded|burned] "
        "[in {year}|last winter|twice in a decade].",
        "Forecasters [expect|predict|warned of] [up to|more than|nearly] {n_small}0 "
        "millimetres of rain [in {place}|across the region|overnight].",
        "{n_big} homes were [without power|evacuated|flooded|damaged] on {day}.",
        "The {noun} is the [worst|most severe|strongest] to hit {place} since {year}.",
        "Emergency crews [worked through the night|were deployed|rescued {n_small} people] "
        "in {place}.",
    ],
    "courts": [
        "{person} [denies|has denied|rejects] [all|the] [charges|allegations|claims] "
        "[against him|against her|in the case].",
        "The [case|hearing|inquiry] was [adjourned|postponed|moved] to {month} [after|because] "
        "[a witness fell ill|new evidence emerged|lawyers requested more time].",
        "[Investigators|Police|Prosecutors] [seized|examined|recovered] [documents|phones|"
        "bank records] [from {org}|in {place}|last year].",
        "The [ruling|verdict|decision] [can be|may be|will be] [appealed|challenged|reviewed] "
        "[within {n_small} weeks|at the supreme court|next year].",
        "The [judge|court|jury] [ruled|found|decided] that {person2} had [acted lawfully|"
        "broken the law|misled investors|been negligent].",
        "{person} [faces|could face] up to {n_small} years in prison if convicted.",
        "The {noun} is expected to [last|run|continue] for {n_small} weeks.",
        "Lawyers for {org} said they would [appeal|study the ruling|seek a retrial|consider "
        "their options].",
    ],
}

HEADLINE_TEMPLATES = [
    "{org} [faces|weighs|announces|confirms] {noun} in {place}",
    "{noun_cap} [sparks|prompts|draws] [anger|debate|relief|questions] in {place}",
    "[What|Why] the {noun} [means|matters] for {place}",
    "{person_last} [defends|criticises|backs|unveils] {noun}",
    "{place}: {noun} [approved|delayed|under review|in doubt] after [talks|vote|ruling]",
]
OUTLET_BOILERPLATE = [
    ("Advertisement\n\n", ""),
    (
        "Sign up for our free daily newsletter and get the most important stories of the day "
        "delivered to your inbox every morning.\n\n",
        "",
    ),
    ("", "\n\nReporting by {reporter}; Editing by {editor}"),
    (
        "",
        "\n\n© {year} {outlet}. All rights reserved. This material may not be published, "
        "broadcast, rewritten or redistributed.",
    ),
    ("", "\n\nRead more:\n{related1}\n{related2}\n{related3}"),
    (
        "Listen to this article\n\n",
        "\n\nShare this article on social media. Comments are closed for this story.",
    ),
    ("", "\n\nOur Standards: The Trust Principles."),
]
OUTLETS = [
    "Harbour Courier",
    "Daily Ledger",
    "Northern Star",
    "Evening Post",
    "Wire Report",
    "Valley Times",
    "Metro Herald",
    "Coastal News",
    "City Observer",
    "Morning Record",
]
COPY_EDITS = {
    "said": "says",
    "percent": "per cent",
    "organization": "organisation",
    "centre": "center",
    "labour": "labor",
    "programme": "program",
    "defence": "defense",
    "criticised": "criticized",
    "about": "around",
    "people": "residents",
    "expected": "likely",
    "would": "will",
    "company": "firm",
    "officials": "authorities",
    "however": "but",
    "told": "informed",
    "government": "administration",
    "increase": "rise",
    "children": "kids",
    "nearly": "almost",
}
# OCR-style confusions used by the "char_noise" edit (else a random letter).
OCR_CONFUSIONS = {
    "l": "1", "1": "l", "i": "l", "o": "0", "0": "o", "e": "c", "c": "e", "s": "5",
    "5": "s", "b": "h", "h": "b", "n": "m", "m": "n", "u": "v", "v": "u", "a": "o",
    "t": "f", "f": "t", "g": "q", "r": "n",
}  # fmt: skip
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_CHOICE = re.compile(r"\[([^\[\]]*)\]")


@dataclass
class Event:
    beat: str
    place: str
    year: int
    people: list[tuple[str, str]]  # (full name, role)
    orgs: list[str]
    noun: str
    quotes: list[str]
    numbers: dict[str, str]


@dataclass
class GeneratedArticle:
    id: str
    text: str
    published_at: str
    cluster: str  # ground truth: copies share their original's cluster
    kind: str  # original | report | follow_up | release | near_copy | exact_copy
    event: str  # the event (or company, for releases) the article is about
    edits: list[str] = field(default_factory=list)


def _expand_choices(rng: random.Random, template: str) -> str:
    while True:
        match = _CHOICE.search(template)
        if match is None:
            return template
        template = (
            template[: match.start()]
            + rng.choice(match.group(1).split("|"))
            + (template[match.end() :])
        )


class NewsGenerator:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self._serial = 0

    # -- building blocks ----------------------------------------------------
    def _person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def _org(self, beat: str) -> str:
        return f"{self.rng.choice(ORG_HEADS)} {self.rng.choice(ORG_TAILS[beat])}"

    def _money(self) -> str:
        return (
            self.rng.choice(["$", "€", "£"])
            + f"{self.rng.randint(2, 950)} "
            + self.rng.choice(["million", "billion", "thousand"])
        )

    def new_event(self, beat: str | None = None) -> Event:
        rng = self.rng
        beat = beat or rng.choice(list(BEAT_TEMPLATES))
        place = rng.choice(PLACES)
        people = [(self._person(), rng.choice(ROLES[beat])) for _ in range(rng.randint(2, 4))]
        orgs = [self._org(beat) for _ in range(rng.randint(2, 3))]
        noun = rng.choice(NOUNS[beat])
        event = Event(beat, place, rng.randint(1995, 2023), people, orgs, noun, [], {})
        event.numbers = {
            "pct": str(rng.randint(2, 75)),
            "money": self._money(),
            "n_big": f"{rng.randint(2, 95) * 100:,}",
            "n_small": str(rng.randint(2, 12)),
        }
        event.quotes = [self._quote(event) for _ in range(rng.randint(1, 2))]
        return event

    def _slots(self, event: Event) -> dict[str, str]:
        rng = self.rng
        person, role = rng.choice(event.people)
        person2, _ = rng.choice(event.people)
        orgs = rng.sample(event.orgs, 2)
        return {
            "person": person,
            "person2": person2,
            "person_last": person.split()[-1],
            "person_role": f"{person}, the {role},",
            "org": orgs[0],
            "org2": orgs[1],
            "noun": event.noun,
            "noun_cap": event.noun[:1].upper() + event.noun[1:],
            "place": event.place,
            "year": str(event.year),
            "day": rng.choice(DAYS),
            "month": rng.choice(MONTHS),
            "ordinal": rng.choice(ORDINALS),
            # Half the time the event's own figure, as different outlets report the same number.
            "pct": event.numbers["pct"] if rng.random() < 0.5 else str(rng.randint(2, 75)),
            "money": event.numbers["money"] if rng.random() < 0.5 else self._money(),
            "n_big": (
                event.numbers["n_big"] if rng.random() < 0.5 else f"{rng.randint(2, 95) * 100:,}"
            ),
            "n_small": event.numbers["n_small"] if rng.random() < 0.5 else str(rng.randint(2, 12)),
            "n_tiny": str(rng.randint(0, 3)),
            "n_minute": str(rng.randint(5, 90)),
            "quote": rng.choice(event.quotes) if rng.random() < 0.7 else self._quote(event),
        }

    def _quote(self, event: Event) -> str:
        rng = self.rng
        slots = {"noun": event.noun, "place": event.place, "org": rng.choice(event.orgs)}
        claim = rng.choice(QUOTE_CLAIMS).format(**slots)
        end = rng.choice(QUOTE_ENDS).format(**slots)
        return f"{rng.choice(QUOTE_OPENERS)} {claim}, {rng.choice(QUOTE_CONNECTORS)} {end}."

    def _templates(self, event: Event) -> list[str]:
        """A shuffled deck of templates: an article does not repeat a sentence pattern."""
        deck = GENERIC_TEMPLATES + BEAT_TEMPLATES[event.beat]
        return self.rng.sample(deck, len(deck))

    def _sentence(self, event: Event, deck: list[str]) -> str:
        if not deck:
            deck.extend(self._templates(event))
        text = _expand_choices(self.rng, deck.pop()).format(**self._slots(event))
        return text[:1].upper() + text[1:]

    def paragraph(self, event: Event, deck: list[str] | None = None) -> str:
        deck = self._templates(event) if deck is None else deck
        return " ".join(self._sentence(event, deck) for _ in range(self.rng.randint(2, 3)))

    def report(self, event: Event) -> list[str]:
        deck = self._templates(event)
        paragraphs = [self.paragraph(event, deck) for _ in range(self.rng.randint(5, 11))]
        if self.rng.random() < 0.6:
            style = self.rng.choice(["{P} —", "{P} ({O}) -", "{P}, {M} {D} —"])
            dateline = style.format(
                P=event.place.upper(),
                O=self.rng.choice(OUTLETS),
                M=self.rng.choice(MONTHS)[:3],
                D=self.rng.randint(1, 28),
            )
            paragraphs[0] = f"{dateline} {paragraphs[0]}"
        return paragraphs

    def headline(self, event: Event) -> str:
        return _expand_choices(self.rng, self.rng.choice(HEADLINE_TEMPLATES)).format(
            **self._slots(event)
        )

    def statement(self, event: Event) -> str:
        """A long official statement (60-110 words) that several articles print in full."""
        who = self.rng.choice(event.orgs)
        parts = [self._quote(event) for _ in range(self.rng.randint(3, 5))]
        return f'"{" ".join(p.strip(chr(34)) for p in parts)}" the statement from {who} read.'

    def quoting_article(self, event: Event, statement: str) -> list[str]:
        """A short article whose bulk is a statement also printed elsewhere (hard negative)."""
        person, role = self.rng.choice(event.people)
        intro = (
            f"{person}, the {role}, released a statement on {self.rng.choice(DAYS)} about the "
            f"{event.noun} in {event.place}, after {self.rng.choice(['days', 'weeks'])} of "
            "questions from residents and reporters. It is printed here in full."
        )
        return [intro, statement, self.paragraph(event)]

    def summary(self, event: Event) -> list[str]:
        """A short brief on the same event in its own words (hard negative for a long report)."""
        deck = self._templates(event)
        return [self.headline(event), *(self.paragraph(event, deck) for _ in range(2))]

    def press_release(self, company: str, footer: str) -> str:
        event = self.new_event(beat="business")
        event.orgs[0] = company
        deck = self._templates(event)
        brief = " ".join(self._sentence(event, deck) for _ in range(self.rng.randint(2, 4)))
        return f"{event.place.upper()} — {brief}\n\n{footer}"

    def release_footer(self, company: str) -> str:
        rng = self.rng
        business = rng.choice(
            [
                "industrial software",
                "medical devices",
                "renewable energy",
                "specialty chemicals",
                "consumer finance",
                "logistics services",
            ]
        )
        return (
            f"About {company}\n\n{company} is a leading provider of {business} to customers in "
            f"more than {rng.randint(12, 90)} countries. Founded in {rng.randint(1950, 2015)}, "
            f"the company employs approximately {rng.randint(2, 40) * 100:,} people and is "
            f"headquartered in {rng.choice(PLACES)}. For more information, visit the company's "
            "website and follow it on social media.\n\nForward-Looking Statements\n\nThis press "
            "release contains forward-looking statements, including statements regarding "
            f"{company}'s expectations for future financial performance, the timing of product "
            "launches and regulatory decisions, and its plans for growth. Words such as "
            '"anticipate," "believe," "expect," "intend," "may," "plan," "will" and similar '
            "expressions identify forward-looking statements. These statements are based on "
            "current expectations and are subject to risks and uncertainties that could cause "
            "actual results to differ materially, including changes in market conditions, "
            "competition, regulatory developments and the other risks described in the "
            "company's most recent annual report. The company undertakes no obligation to "
            "update any forward-looking statement, except as required by law.\n\nMedia "
            f"contact: {self._person()}, press office, +1 555 01{rng.randint(10, 99)}"
        )

    # -- edits for planted near duplicates -----------------------------------
    def edit(self, paragraphs: list[str], event: Event, kind: str) -> list[str]:
        rng = self.rng
        p = list(paragraphs)
        if kind == "headline":
            return [self.headline(event), *p]
        if kind == "dateline":
            first = re.sub(r"^[A-Z][A-Z .,'()-]*(—|-)\s", "", p[0])
            if first == p[0]:
                first = f"{event.place.upper()} ({rng.choice(OUTLETS)}) - {p[0]}"
            return [first, *p[1:]]
        if kind == "reorder" and len(p) >= 4:
            i, j = rng.sample(range(1, len(p)), 2)
            p[i], p[j] = p[j], p[i]
            return p
        if kind == "add_paragraph":
            p.insert(rng.randint(1, len(p)), self.paragraph(event))
            return p
        if kind == "drop_paragraph" and len(p) >= 6:
            del p[rng.randint(len(p) - 3, len(p) - 1)]
            return p
        if kind == "boilerplate":
            top, bottom = rng.choice(OUTLET_BOILERPLATE)
            bottom = bottom.format(
                reporter=self._person(),
                editor=self._person(),
                year=rng.randint(2019, 2024),
                outlet=rng.choice(OUTLETS),
                related1=self.headline(self.new_event()),
                related2=self.headline(self.new_event()),
                related3=self.headline(self.new_event()),
            )
            text = top + "\n\n".join(p) + bottom
            return text.split("\n\n")
        if kind == "correction":
            for i in range(len(p) - 1, 0, -1):
                if re.search(r"\d", p[i]):
                    p[i] = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), p[i], count=1)
                    break
            p.append(
                "Correction: An earlier version of this story gave an incorrect figure. "
                "It has been updated."
            )
            return p
        if kind == "copy_edit":
            rate = rng.uniform(0.005, 0.04)
            out = []
            for para in p:
                words = para.split(" ")
                for i, word in enumerate(words):
                    if rng.random() < rate:
                        bare = word.strip(".,\"'")
                        words[i] = word.replace(bare, COPY_EDITS.get(bare.lower(), bare.upper()))
                out.append(" ".join(words))
            return out
        if kind == "shorten" and len(p) >= 3:
            # Wire copy cut to length from the bottom: the first 35-75 % of the paragraphs.
            keep = max(2, round(len(p) * rng.uniform(0.35, 0.75)))
            return p[:keep]
        if kind == "char_noise":
            return [self._noisy(para, 0.01) for para in p]
        if kind == "typography":
            text = "\n\n".join(p)
            text = text.replace('"', "\u201c").replace("'", "\u2019").replace(" — ", " \u2013 ")
            text = text.replace(" of ", " of\u00a0").replace(". ", ".\u200b ")
            wrapped = [textwrap.fill(x, 72, break_long_words=False) for x in text.split("\n\n")]
            return wrapped
        return p  # edit not applicable to this text: unchanged

    def _noisy(self, text: str, rate: float) -> str:
        """About `rate` of the letters and digits changed (OCR confusion or neighbour
        substitution, dropped, doubled, or swapped with the next one)."""
        rng = self.rng
        out: list[str] = []
        chars = list(text)
        i = 0
        while i < len(chars):
            ch = chars[i]
            if not ch.isalnum() or rng.random() >= rate:
                out.append(ch)
                i += 1
                continue
            roll = rng.random()
            if roll < 0.5:
                out.append(OCR_CONFUSIONS.get(ch.lower(), rng.choice("etaoinshrdlu")))
            elif roll < 0.7:
                pass  # dropped
            elif roll < 0.85:
                out.append(ch + ch)
            elif i + 1 < len(chars) and chars[i + 1].isalnum():
                out.append(chars[i + 1] + ch)
                i += 1
            else:
                out.append(ch)
            i += 1
        return "".join(out)

    # -- the data set ---------------------------------------------------------
    def _id(self) -> str:
        self._serial += 1
        return f"art-{self._serial:07d}-{self.rng.randrange(16**6):06x}"

    def _timestamp(self, base_hours: float) -> str:
        """Copies of a story appear from 12 h before to 36 h after its base time."""
        hours = max(base_hours + self.rng.uniform(-12, 36), 0.0)
        stamp = EPOCH + timedelta(minutes=int(hours * 60))
        return stamp.strftime("%Y-%m-%dT%H:%M:00Z")

    def generate(self, count: int, span_days: float = 340.0) -> list[GeneratedArticle]:
        """`count` articles whose stories are spread over `span_days` days from 2024-01-01."""
        rng = self.rng
        out: list[GeneratedArticle] = []
        companies = [self._org("business") for _ in range(max(3, count // 2000))]
        footers = {c: self.release_footer(c) for c in companies}
        edit_kinds = [
            "headline",
            "dateline",
            "reorder",
            "add_paragraph",
            "drop_paragraph",
            "boilerplate",
            "correction",
            "copy_edit",
            "typography",
            "shorten",
            "char_noise",
        ]
        while len(out) < count:
            roll = rng.random()
            base_hours = rng.uniform(0, 24 * span_days)
            if roll < 0.15:  # a press release sharing its company's long footer
                company = rng.choice(companies)
                article_id = self._id()
                text = self.press_release(company, footers[company])
                out.append(
                    GeneratedArticle(
                        article_id,
                        text,
                        self._timestamp(base_hours),
                        article_id,
                        "release",
                        company,
                    )
                )
                continue
            event = self.new_event()
            event_id = f"event-{len(out)}"
            reports = [self.report(event) for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4]))]
            # A long statement the first report prints in full, and a short article
            # built around it (decided before the report's copies are made).
            statement = self.statement(event) if rng.random() < 0.08 else None
            if statement is not None:
                reports[0].insert(rng.randint(1, len(reports[0])), statement)
            for n, paragraphs in enumerate(reports):
                article_id = self._id()
                out.append(
                    GeneratedArticle(
                        article_id,
                        "\n\n".join(paragraphs),
                        self._timestamp(base_hours),
                        article_id,
                        "original" if n == 0 else "report",
                        event_id,
                    )
                )
                if rng.random() < 0.25:  # syndicated: planted copies of this report
                    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
                        edits = rng.sample(edit_kinds, rng.choice([1, 1, 2, 2, 3, 4]))
                        copy = paragraphs
                        for kind in edits:
                            copy = self.edit(copy, event, kind)
                        out.append(
                            GeneratedArticle(
                                self._id(),
                                "\n\n".join(copy),
                                self._timestamp(base_hours),
                                article_id,
                                "near_copy",
                                event_id,
                                edits,
                            )
                        )
                if rng.random() < 0.04:
                    out.append(
                        GeneratedArticle(
                            self._id(),
                            "\n\n".join(paragraphs),
                            self._timestamp(base_hours),
                            article_id,
                            "exact_copy",
                            event_id,
                        )
                    )
            if statement is not None:  # the short article around the report's statement
                article_id = self._id()
                out.append(
                    GeneratedArticle(
                        article_id,
                        "\n\n".join(self.quoting_article(event, statement)),
                        self._timestamp(base_hours),
                        article_id,
                        "quote_share",
                        event_id,
                    )
                )
            if rng.random() < 0.08:  # a short brief summarising the long report
                article_id = self._id()
                out.append(
                    GeneratedArticle(
                        article_id,
                        "\n\n".join(self.summary(event)),
                        self._timestamp(base_hours),
                        article_id,
                        "summary",
                        event_id,
                    )
                )
            if rng.random() < 0.15:  # a follow-up reusing two background paragraphs
                background = rng.sample(reports[0][1:], min(2, len(reports[0]) - 1))
                follow = [self.paragraph(event) for _ in range(rng.randint(4, 7))]
                follow[2:2] = background
                article_id = self._id()
                out.append(
                    GeneratedArticle(
                        article_id,
                        "\n\n".join(follow),
                        self._timestamp(base_hours + 30),
                        article_id,
                        "follow_up",
                        event_id,
                    )
                )
        rng.shuffle(out)
        return out[:count]

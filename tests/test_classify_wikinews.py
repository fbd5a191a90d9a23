"""The Wikinews training data: markup, fragments, repeats and imbalance, on real lines."""

from __future__ import annotations

from collections import Counter

import pytest
from classify_support import write_jsonl

from newsbeam.transforms.classify.training import TrainingDataError
from newsbeam.transforms.classify.wikinews import (
    WikinewsItem,
    cap_cells,
    cell_weights,
    letter_count,
    prepare,
    read_wikinews,
    strip_markup,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # category lists spell out the label and are all markup
        ("Kategorie:ZdravíKategorie:SlužbyKategorie:PolitikaKategorie:Společnost", ""),
        ("تصنيف:العراقتصنيف:سياسةen:Category:Iraq Warfr:Catégorie:Guerre d'Irak", ""),
        ("<includeonly>Category:ヨーロッパCategory:スポーツ</includeonly>", ""),
        # markup around real text: the text stays
        (
            "230 px|Joachim Gauck (2011) Joachim Gauck könnte Bundespräsident werden.",
            "Joachim Gauck (2011) Joachim Gauck könnte Bundespräsident werden.",
        ),
        (
            "miniaturadeimagen|izquierda|Silvio Berlusconi, ex Primer Ministro de Italia.",
            "Silvio Berlusconi, ex Primer Ministro de Italia.",
        ),
        ("A flies over [[New York City]].", "A flies over New York City."),
        (
            "[[User:LauraHale|Laura Hale]] interviews Alberto Suárez Laso",
            "Laura Hale interviews Alberto Suárez Laso",
        ),
        (
            "Le championnat dispute sa quatrième journée.<center></center>== Source ==* "
            "Catégorie:Rugby à XVCatégorie:Sport",
            "Le championnat dispute sa quatrième journée. *",
        ),
        # prose is left alone, including words that are image options elsewhere
        ("Turn right, then left, at the centre.", "Turn right, then left, at the centre."),
        ("Ratio 3:1 in the 2:0 win", "Ratio 3:1 in the 2:0 win"),
    ],
)
def test_strip_markup(line, expected):
    assert strip_markup(line) == expected


def test_letters_count_cjk_as_words():
    assert letter_count("George W.") == 7
    assert letter_count("震度5弱を観測した") == 8 * 3  # a kana/Han character counts three
    assert letter_count("2003 EL61.") == 2


def item(text, label="politics", lang="en"):
    return WikinewsItem(lang, text, label)


def test_prepare_drops_markup_fragments_and_repeats_and_says_why():
    items = [
        item("Catégorie:SportCatégorie:Football", "sport", "fr"),  # markup only
        item("George W."),  # a fragment left by a link
        item("The senate passed the budget bill on Tuesday."),
        item("The Senate passed the budget bill on Tuesday!"),  # same words: a repeat
        item("Floods hit the coast; thousands were evacuated.", "disaster"),
        item("Floods hit the coast, thousands were evacuated.", "weather"),  # conflicting labels
        item("[[Barack Obama]] gave a speech on racial division today."),
    ]
    prepared = prepare(items)
    assert [i.text for i in prepared.items] == [
        "The senate passed the budget bill on Tuesday.",
        "Barack Obama gave a speech on racial division today.",
    ]
    assert prepared.dropped == Counter(
        {"markup": 1, "fragment": 1, "repeat": 1, "repeat_conflicting_label": 2}
    )
    assert prepared.stripped == 1
    raw = prepare(items, strip=False, min_letters=0, dedupe=False)
    assert len(raw.items) == len(items) and not raw.dropped


def test_cap_cells_caps_each_language_label_cell_only():
    items = [item(f"politics story number {i}") for i in range(50)]
    items += [item(f"sport story {i}", "sport") for i in range(5)]
    items += [item(f"Politik Nachricht {i}", lang="de") for i in range(8)]
    capped, dropped = cap_cells(items, 10, seed=8)
    counts = Counter((i.lang, i.label) for i in capped)
    assert counts == {("en", "politics"): 10, ("en", "sport"): 5, ("de", "politics"): 8}
    assert dropped == 40
    assert capped == cap_cells(items, 10, seed=8)[0]  # fixed seed: same draw
    assert capped != cap_cells(items, 10, seed=9)[0]
    assert [items.index(i) for i in capped] == sorted(items.index(i) for i in capped)
    assert cap_cells(items, None, seed=8) == (items, 0)


def test_reading_names_the_bad_line(tmp_path):
    good = {"id": "a", "lang": "en", "text": "Some text", "label": "sport"}
    path = write_jsonl(tmp_path / "w.jsonl", [good, {"id": "b", "text": "no language"}])
    with pytest.raises(TrainingDataError, match=r"w.jsonl:2: not a Wikinews topic item"):
        read_wikinews(path)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TrainingDataError, match="no items"):
        read_wikinews(tmp_path / "empty.jsonl")
    with pytest.raises(TrainingDataError, match="no such file"):
        read_wikinews(tmp_path / "absent.jsonl")
    assert read_wikinews(write_jsonl(tmp_path / "ok.jsonl", [good])) == [
        WikinewsItem("en", "Some text", "sport")
    ]


def test_cell_weights_even_out_cells_and_labels_without_dropping_items():
    items = [item(f"politics story number {i}") for i in range(50)]
    items += [item(f"sport story {i}", "sport") for i in range(5)]
    items += [item(f"Politik Nachricht {i}", lang="de") for i in range(8)]
    weights = cell_weights(items, 10)
    assert len(weights) == len(items) and weights.mean() == pytest.approx(1.0)

    def total(lang, label, w=weights):
        return sum(x for x, i in zip(w, items, strict=True) if (i.lang, i.label) == (lang, label))

    # 50 English politics items weigh as much as 10; cells under the cap keep theirs.
    assert total("en", "politics") == pytest.approx(2 * total("en", "sport"))
    assert total("de", "politics") == pytest.approx(total("en", "sport") * 8 / 5)
    # label balance 1: politics (18 units) and sport (5) end with equal totals.
    balanced = cell_weights(items, 10, label_balance=1.0)
    politics = total("en", "politics", balanced) + total("de", "politics", balanced)
    assert politics == pytest.approx(total("en", "sport", balanced))
    # half way (in log terms): sport/politics goes from 5/18 to sqrt(5/18).
    half = cell_weights(items, 10, label_balance=0.5)
    ratio = total("en", "sport", half) / (
        total("en", "politics", half) + total("de", "politics", half)
    )
    assert ratio == pytest.approx((5 / 18) ** 0.5)
    with pytest.raises(ValueError, match="cap"):
        cell_weights(items, 0)
    assert len(cell_weights([], 10)) == 0

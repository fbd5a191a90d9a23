"""The rules file loader: the packaged file is valid, bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbeam.transforms.clean.rules import (
    RulesError,
    default_rules_path,
    load_rules,
    parse_rules,
)

DEFAULT_TEXT = default_rules_path().read_text(encoding="utf-8")


def test_packaged_rules_load_and_name_their_reasons() -> None:
    rules = load_rules()
    assert rules.version == 1
    names = [p.name for p in rules.patterns]
    assert len(names) == len(set(names))
    reasons = rules.reasons()
    for expected in (
        "breadcrumb",
        "paywall",
        "comments-widget",
        "ad-marker",
        "share-prompt",
        "photo-credit",
        "copyright",
        "credit-line",
        "newsletter",
        "promo",
        "inline-related-link",
        "related-headlines",
        "repeated-lead",
        "site-tagline",
        "tag",
        "title",
        "byline",
    ):
        assert expected in reasons


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read rules file"):
        load_rules(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("version = [", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid TOML"):
        load_rules(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("version = 1", "version = 2", "version 2 is not supported"),
        ('reason = "breadcrumb"', 'reason = "Bread Crumb!"', "'breadcrumb'.*reason code"),
        ("'^you are here\\s*:',", "'^you are (here',", "bad regular expression"),
        ('name = "breadcrumb"\n', 'name = "breadcrumb"\nmax_wrods = 3\n', "unknown key.*max_wrods"),
        ('zone = "header"', 'zone = "middle"', "`zone` must be one of"),
        ("min_run = 3", "min_run = 0", "min_run` must be at least 1"),
        ("min_run = 3", 'min_run = "3"', "min_run` must be an integer"),
        ("title_case_min_ratio = 0.6", "title_case_min_ratio = 6", "between 0 and 1"),
        ('name = "copyright"', 'name = "breadcrumb"', "duplicate pattern rule names: breadcrumb"),
        ("(?P<names>.+)$',\n  '^(author", "(.+)$',\n  '^(author", "needs a \\(\\?P<names>"),
        ("[context.trailing]", "[context.trailer]", "unknown key.*trailer"),
    ],
)
def test_bad_rules_name_the_rule_and_key(old: str, new: str, message: str) -> None:
    assert old in DEFAULT_TEXT, old
    with pytest.raises(RulesError, match=message):
        parse_rules(DEFAULT_TEXT.replace(old, new, 1), origin="test.toml")


def test_missing_context_rule() -> None:
    start = DEFAULT_TEXT.index("[context.trailing]")
    with pytest.raises(RulesError, match="missing context rules: trailing"):
        parse_rules(DEFAULT_TEXT[:start])

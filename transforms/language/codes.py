"""The labels the stage can produce, and parsing a `--languages en,de` list of them."""

from __future__ import annotations

import functools
import os

from newsbeam.transforms.language.detector import UND


@functools.cache
def supported_languages() -> frozenset[str]:
    """langdetect 1.0.9's labels (one per profile file: 'en', 'zh-cn', ...) plus `und`."""
    from langdetect.detector_factory import PROFILES_DIRECTORY

    names = {name for name in os.listdir(PROFILES_DIRECTORY) if not name.startswith(".")}
    return frozenset(names | {UND})


def parse_languages(value: str) -> frozenset[str]:
    """'en, DE,zh' -> {'en', 'de', 'zh-cn', 'zh-tw'}; ValueError naming unknown codes.

    A bare 'zh' stands for both Chinese labels. Include 'und' to keep articles whose
    language could not be determined.
    """
    wanted: set[str] = set()
    unknown: list[str] = []
    known = supported_languages()
    for part in value.split(","):
        code = part.strip().lower().replace("_", "-")
        if not code:
            continue
        if code == "zh":
            wanted.update({"zh-cn", "zh-tw"})
        elif code in known:
            wanted.add(code)
        else:
            unknown.append(part.strip())
    if unknown:
        raise ValueError(
            f"unknown language code(s): {', '.join(unknown)}; "
            f"expected some of: {', '.join(sorted(known))}"
        )
    if not wanted:
        raise ValueError("no language given")
    return frozenset(wanted)

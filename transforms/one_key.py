"""A stateful DoFn over every article on one key: how the stream stages keep one index.

The stream dedup window and the stream stories are each one sequential index, so all
articles go to one key (keyed state, no timers, no GroupByKey: neither fires after the
unbounded source on the local runner). Applied inside the calling PTransform's expand,
so the step names stay `<stage>/GlobalWindow`, `<stage>/OneKey`, `<stage>/<name>`.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from newsbeam.transforms.record_guard import DEAD_LETTER


def apply_on_one_key(
    articles: beam.PCollection,
    key: str,
    fn: beam.DoFn,
    name: str,
    *,
    with_dead_letters: bool,
) -> Any:
    """articles -> `fn`'s main output, or `{"main", "dead_letter"}` with dead letters."""
    outputs = (
        articles
        # State is per key *and window*: one window keeps one index.
        | "GlobalWindow" >> beam.WindowInto(GlobalWindows())
        | "OneKey" >> beam.Map(lambda article: (key, article))
        | name >> beam.ParDo(fn).with_outputs(DEAD_LETTER, main="main")
    )
    if with_dead_letters:
        return {"main": outputs.main, "dead_letter": outputs[DEAD_LETTER]}
    return outputs.main

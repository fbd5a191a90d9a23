"""What a `--sink` option names: a parsed, validated description of one sink.

Pure (no Beam import): the CLI parses options with it before a pipeline exists.
Accepted forms:

- `jsonl:DIR` or a plain directory: JSON Lines files under DIR.
- `parquet:DIR`, or a directory whose name ends in `.parquet`: Parquet files.
- `postgresql://user@host:5432/db?table=articles` (also `postgres://`): a table.

DIR may be any path Beam's FileSystems understand (local, gs://, s3://, ...).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_TABLE = "articles"
DEAD_LETTER_TABLE_SUFFIX = "_dead_letter"
DEFAULT_POSTGRES_BATCH_SIZE = 500
# PostgreSQL truncates identifiers at 63 bytes; the dead-letter table name
# adds a suffix, so the article table name must leave room for it.
_MAX_IDENTIFIER = 63
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Schemes of Beam file systems: `gs://bucket/out` is a directory, not a sink kind.
_FILESYSTEM_SCHEMES = frozenset({"file", "gs", "s3", "hdfs", "azfs"})
# Query parameters of a postgresql:// sink that newsbeam consumes; the rest of
# the URI goes to libpq unchanged (sslmode, connect_timeout, ...).
_POSTGRES_OPTIONS = frozenset({"table", "dead_letter_table", "batch_size"})


@dataclass(frozen=True)
class JsonLinesSink:
    """`articles-*.jsonl` and `dead-letter-*.jsonl` under `directory`."""

    directory: str
    kind = "jsonl"

    def describe(self) -> str:
        return f"jsonl:{self.directory}"


@dataclass(frozen=True)
class ParquetSink:
    """`articles-*.parquet` and `dead-letter-*.parquet` under `directory`."""

    directory: str
    kind = "parquet"

    def describe(self) -> str:
        return f"parquet:{self.directory}"


@dataclass(frozen=True)
class PostgresSink:
    """Articles upserted into `table`, dead letters into `dead_letter_table`.

    `conninfo` is the libpq URI without newsbeam's own query parameters; it may
    hold a password, so logs use `describe()`.
    """

    conninfo: str
    table: str = DEFAULT_TABLE
    dead_letter_table: str = DEFAULT_TABLE + DEAD_LETTER_TABLE_SUFFIX
    batch_size: int = DEFAULT_POSTGRES_BATCH_SIZE
    kind = "postgresql"

    def describe(self) -> str:
        shown = urlunsplit(self._masked())
        return f"{shown} (table {self.table}, dead letters {self.dead_letter_table})"

    def masked_uri(self) -> str:
        """A `--sink` value naming the same tables, with any password as `***`."""
        parts = self._masked()
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("table", self.table)]
        if self.dead_letter_table != self.table + DEAD_LETTER_TABLE_SUFFIX:
            query.append(("dead_letter_table", self.dead_letter_table))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _masked(self):
        parts = urlsplit(self.conninfo)
        if parts.password is None:
            return parts
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))


SinkSpec = JsonLinesSink | ParquetSink | PostgresSink


def parse_sink(uri: str) -> SinkSpec:
    """Parse one `--sink` value; raise ValueError with a message for the user."""
    text = uri.strip()
    if not text:
        raise ValueError("empty sink: give a directory, jsonl:DIR, parquet:DIR or postgresql://...")
    match = _SCHEME.match(text)
    if match is None:
        return _directory_sink(text)
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    parser = _SCHEME_PARSERS.get(scheme)
    if parser is not None:
        return parser(text, rest)
    if scheme in _FILESYSTEM_SCHEMES and rest.startswith("//"):
        return _directory_sink(text)
    known = ", ".join(f"{name}:" for name in _SCHEME_PARSERS)
    raise ValueError(
        f"unknown sink {text!r}: scheme {scheme!r} is not one of {known} "
        "(a plain directory writes JSON Lines)"
    )


def parse_sink_option(value: str) -> SinkSpec:
    """`type=` for argparse: the same as parse_sink, with argparse's error type.

    argparse turns ArgumentTypeError into `argument --sink: <message>` and exit
    code 2; a plain ValueError would lose the message.
    """
    try:
        return parse_sink(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _directory_sink(path: str) -> SinkSpec:
    if path.rstrip("/").endswith(".parquet"):
        return ParquetSink(path)
    return JsonLinesSink(path)


def _parse_jsonl(text: str, rest: str) -> SinkSpec:
    if not rest:
        raise ValueError(f"sink {text!r} names no directory (jsonl:DIR)")
    return JsonLinesSink(rest)


def _parse_parquet(text: str, rest: str) -> SinkSpec:
    if not rest:
        raise ValueError(f"sink {text!r} names no directory (parquet:DIR)")
    return ParquetSink(rest)


def _parse_postgres(text: str, rest: str) -> SinkSpec:
    if not rest.startswith("//"):
        raise ValueError(f"sink {text!r}: expected postgresql://user@host:5432/db?table=articles")
    parts = urlsplit(text)
    ours: dict[str, str] = {}
    passed: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _POSTGRES_OPTIONS:
            ours[key] = value
        else:
            passed.append((key, value))
    table = ours.get("table", DEFAULT_TABLE)
    _check_table_name(text, "table", table, reserve=len(DEAD_LETTER_TABLE_SUFFIX))
    dead_letter_table = ours.get("dead_letter_table", table + DEAD_LETTER_TABLE_SUFFIX)
    _check_table_name(text, "dead_letter_table", dead_letter_table, reserve=0)
    batch_text = ours.get("batch_size", str(DEFAULT_POSTGRES_BATCH_SIZE))
    if not batch_text.isdigit() or int(batch_text) < 1:
        raise ValueError(
            f"sink {text!r}: batch_size must be a positive integer, not {batch_text!r}"
        )
    conninfo = urlunsplit(parts._replace(query=urlencode(passed)))
    return PostgresSink(
        conninfo=conninfo,
        table=table,
        dead_letter_table=dead_letter_table,
        batch_size=int(batch_text),
    )


def _check_table_name(text: str, option: str, name: str, *, reserve: int) -> None:
    pieces = name.split(".")
    if len(pieces) > 2 or not all(_IDENTIFIER.match(piece) for piece in pieces):
        raise ValueError(
            f"sink {text!r}: {option}={name!r} is not a table name "
            "(letters, digits and _, optionally schema.table)"
        )
    if len(pieces[-1]) > _MAX_IDENTIFIER - reserve:
        raise ValueError(
            f"sink {text!r}: {option}={name!r} is longer than "
            f"{_MAX_IDENTIFIER - reserve} characters"
        )


_SCHEME_PARSERS: dict[str, Callable[[str, str], SinkSpec]] = {
    "jsonl": _parse_jsonl,
    "parquet": _parse_parquet,
    "postgresql": _parse_postgres,
    "postgres": _parse_postgres,
}


def split_table_name(name: str) -> tuple[str, ...]:
    """`schema.table` -> ("schema", "table"); `table` -> ("table",)."""
    return tuple(name.split("."))

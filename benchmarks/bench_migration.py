"""What a PostgreSQL table migration on start costs, against writing the same rows.

    python benchmarks/bench_migration.py [--records 20000] [--postgres DSN]

In a scratch schema: writes N article records with the PostgreSQL writer (the
baseline: what those rows cost to write in the first place), then opens a writer
with a synthetic next minor version (two new columns, one filled from the stored
record) -- the migration a start performs -- and then measures a start on the
up-to-date table (advisory lock + catalog read: what every worker's setup() pays).
Prints seconds, rows/s and the migration's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sinks import records  # noqa: E402

from newsbeam.schemas.versions import Version  # noqa: E402
from newsbeam.transforms.io.postgres.writer import ARTICLES, Column, PostgresWriter  # noqa: E402

DEFAULT_DSN = os.environ.get("NEWSBEAM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NEXT_MINOR = ARTICLES.evolved(
    Version(ARTICLES.version.major, ARTICLES.version.minor + 1),
    Column("duplicate_containment", "double precision", path=("duplicate", "containment")),
    Column("source_line", "integer", path=("source", "line")),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--postgres", default=DEFAULT_DSN)
    parser.add_argument("--starts", type=int, default=50, help="starts timed on a current table")
    args = parser.parse_args()
    schema = f"newsbeam_bench_{uuid.uuid4().hex[:8]}"
    table = f"{schema}.articles"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        rows = list(records(args.records))
        writer = PostgresWriter(args.postgres, table, ARTICLES)
        started = time.perf_counter()
        writer.open()
        for begin in range(0, len(rows), 500):
            assert writer.write(rows[begin : begin + 500]) == []
        write_s = time.perf_counter() - started
        writer.close()

        migrating = PostgresWriter(args.postgres, table, NEXT_MINOR)
        started = time.perf_counter()
        migrating.open()
        migrate_s = time.perf_counter() - started
        migrating.close()
        assert migrating.migration is not None and migrating.migration.added

        started = time.perf_counter()
        for _ in range(args.starts):
            current = PostgresWriter(args.postgres, table, NEXT_MINOR)
            current.open()
            assert current.migration is not None and current.migration.up_to_date
            current.close()
        start_ms = (time.perf_counter() - started) / args.starts * 1000
        with psycopg.connect(args.postgres) as conn:
            filled = conn.execute(
                sql.SQL("SELECT count(source_line) FROM {}").format(
                    sql.Identifier(schema, "articles")
                )
            ).fetchone()[0]
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    n = args.records
    print(f"rows: {n:,} (source_line filled from the stored record in {filled:,})")
    print(f"write (baseline): {write_s:.2f} s ({n / write_s:,.0f} rows/s)")
    print(
        f"migration on start (2 columns added, 1 backfilled): {migrate_s:.2f} s "
        f"({n / migrate_s:,.0f} rows/s), {migrate_s / write_s:.2f}x the write"
    )
    print(f"start on an up-to-date table (connect + lock + catalog): {start_ms:.1f} ms")


if __name__ == "__main__":
    main()

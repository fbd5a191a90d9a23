"""`newsbeam migrate --sink URI [--dry-run]`: bring a sink's tables to this version's schema.

Prints, per table, what it finds and the SQL that brings it to the record schema this
newsbeam writes; applies it unless `--dry-run`. Jobs do the additive part themselves on
start; this command is for what they refuse (a retyped column) and for operators who
want to see or schedule the change first.
"""

from __future__ import annotations

import argparse
import sys

from newsbeam.cli_options import EXIT_OK, UsageError, sink_option


def add_parser(subparsers: argparse._SubParsersAction, parents: list) -> None:
    migrate = subparsers.add_parser(
        "migrate",
        parents=parents,
        help="print or apply the SQL that brings a sink's tables to this record schema",
        description="Compare a PostgreSQL sink's tables with the record schema this newsbeam "
        "writes and apply the SQL that brings them to it (each table in one transaction, "
        "under the lock running jobs take). File sinks need no migration.",
    )
    migrate.add_argument(
        "--sink",
        required=True,
        action="append",
        type=sink_option,
        metavar="URI",
        help="the sink, as given to `run`/`stream` (repeatable), e.g. "
        "postgresql://user@host:5432/db?table=articles",
    )
    migrate.add_argument("--dry-run", action="store_true", help="print the SQL and change nothing")
    migrate.set_defaults(func=migrate_command)


def migrate_command(args: argparse.Namespace) -> int:
    from newsbeam.transforms.io.sinks import PostgresSink, SinkUnavailable, migrate_sink

    out = sys.stdout
    for spec in args.sink:
        if not isinstance(spec, PostgresSink):
            out.write(
                f"-- {spec.describe()}: nothing to migrate: files of every schema version "
                "stay readable together (docs/record.md, Schema versions)\n"
            )
            continue
        try:
            results = migrate_sink(spec, dry_run=args.dry_run)
        except SinkUnavailable as error:
            raise UsageError(str(error)) from error
        for plan, statements in results:
            out.write(f"-- {plan.summary()}\n")
            for statement in statements:
                out.write(statement + "\n")
        changed = any(statements for _, statements in results)
        if args.dry_run:
            out.write("-- dry run: nothing was changed\n")
        elif changed:
            out.write("-- applied (one transaction per table)\n")
    return EXIT_OK

"""`python manage.py generate_scale`: the seeds' province at full scale on PostgreSQL, for benchmarks.

    python manage.py generate_scale                       # everything, at the seeds' figures
    python manage.py generate_scale --scale 0.01          # 1 % of the people and records, all the regions
    python manage.py generate_scale --parts volunteers --reset
    python manage.py generate_scale --small               # a tiny set, also on SQLite (the tests')

The parts and what they build are described in edu/scale/.
"""

import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from edu.scale import (
    SMALL_FIGURES,
    Context,
    analyze,
    database_size,
    dependents,
    registered_parts,
    scaled_figures,
    seconds_label,
    sink_for_connection,
)


class _Stream:
    """The command's stderr as the file-like object the progress bar writes to."""

    def __init__(self, wrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


class Command(BaseCommand):
    help = (
        "Generate the seeds' provincial scale (regions, 11,186 schools, 2.53 million volunteers, "
        "5.38 million hour records) on PostgreSQL with COPY. Refuses a second run unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=float,
            default=None,
            help="fraction of the seeds' figures (default 1.0; 0.01 for a quick run); all regions are kept",
        )
        parser.add_argument(
            "--parts",
            default="",
            help="comma-separated parts to build, in any order (default: all of them)",
        )
        parser.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
        parser.add_argument(
            "--small", action="store_true", help="a tiny set, allowed on SQLite (used by the tests)"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="first delete what generate_scale made for these parts and every part built on them",
        )

    def handle(self, *args, scale, parts, seed, small, reset, **options):
        if small and scale is not None:
            raise CommandError("--small and --scale exclude each other: --small is a fixed tiny set.")
        if scale is None:
            scale = 1.0
        if not 0 < scale <= 10:
            raise CommandError("--scale must be above 0 and at most 10.")
        if connection.vendor != "postgresql" and not small:
            raise CommandError(
                f"generate_scale writes millions of rows and needs PostgreSQL (this database is "
                f"{connection.vendor}). Set DATABASE_URL=postgres://…, or use --small for a tiny set."
            )
        autodiscover_modules("scale")
        available = registered_parts()
        by_name = {part.name: part for part in available}
        wanted = [name.strip() for name in parts.split(",") if name.strip()] or list(by_name)
        unknown = [name for name in wanted if name not in by_name]
        if unknown:
            raise CommandError(f"Unknown part(s): {', '.join(unknown)}. The parts are: {', '.join(by_name)}.")
        selected = [part for part in available if part.name in wanted]

        for part in selected:
            for needed in part.requires:
                if needed not in wanted and not by_name[needed].existing():
                    raise CommandError(
                        f"The {part.name} part builds on the {needed} part, which has not been generated: "
                        f"add it to --parts."
                    )
        if reset:
            doomed = {dependent.name for part in selected for dependent in dependents(part.name)}
            for part in reversed([part for part in available if part.name in doomed]):
                if not part.existing():
                    continue
                started = time.perf_counter()
                with transaction.atomic():
                    deleted = part.delete()
                # Vacuumed, the deleted rows' space is reused by the new ones instead of doubling the tables.
                analyze(deleted)
                spent = seconds_label(time.perf_counter() - started)
                self.stdout.write(f"Reset {part.name}: deleted {_counts(deleted)} in {spent}")
                self.stdout.flush()
        else:
            there = {part.name: part.existing() for part in selected}
            there = {name: counts for name, counts in there.items() if counts}
            if there:
                listing = "; ".join(f"{name}: {_counts(counts)}" for name, counts in there.items())
                raise CommandError(
                    f"The generated set is already there ({listing}). Run again with --reset to delete it "
                    f"and generate it afresh."
                )

        figures = SMALL_FIGURES if small else scaled_figures(scale)
        ctx = Context(
            figures=figures,
            seed=seed,
            sink=sink_for_connection(),
            now=timezone.now(),
            progress_stream=_Stream(self.stderr) if options["verbosity"] > 0 else None,
            small=small,
        )
        self.stdout.write(
            f"Generating {', '.join(part.name for part in selected)} on {connection.vendor} "
            f"({'small set' if small else f'scale {scale:g}'}, seed {seed}, "
            f"{'COPY' if ctx.sink.vendor == 'postgresql' else 'INSERT'}): "
            f"{figures.schools:,} schools, {figures.volunteers:,} volunteers, "
            f"{figures.hour_records:,} hour records"
        )
        summary = []
        overall = time.perf_counter()
        for part in selected:
            ctx.rows, ctx.write_seconds = Counter(), Counter()
            started = time.perf_counter()
            self.stderr.write(f"[{part.name}]")
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # Foreign keys are checked after each COPY statement rather than queued to the commit.
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                part.generate(ctx)
            written = time.perf_counter() - started
            analyze_started = time.perf_counter()
            analyze(model._meta.db_table for model in part.models())
            analysed = time.perf_counter() - analyze_started
            summary.append((part.name, dict(ctx.rows), dict(ctx.write_seconds), written, analysed))

        self.stdout.write(self.style.SUCCESS("Generated:"))
        for name, rows, seconds, written, analysed in summary:
            self.stdout.write(
                f"  {name:<12} {seconds_label(written):>9} (+ {seconds_label(analysed)} VACUUM/ANALYZE)"
            )
            for table, count in sorted(rows.items()):
                spent = f"{seconds_label(seconds[table])} writing" if table in seconds else ""
                self.stdout.write(f"      {table:<40} {count:>12,}   {spent}")
        size = database_size()
        self.stdout.write(
            f"  total {seconds_label(time.perf_counter() - overall)}"
            + (f"; database size {size / 2**30:.2f} GiB" if size is not None else "")
        )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {table}" for table, count in sorted(counts.items())) or "nothing"

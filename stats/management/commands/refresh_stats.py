"""Recompute the statistics rollups from the source rows.

Every minute in production (cron or a systemd timer): `python manage.py refresh_stats` recomputes today's and
yesterday's rows, so that the figures never trail the live data by more than a minute even when an event's
own refresh was lost. `--since 2026-09-01` (or `--days N`) rebuilds a range whole, as a repair or after a
bulk load.
"""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from stats import rollups


class Command(BaseCommand):
    help = "Recompute the statistics rollups (the last two days by default)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Rebuild the last N days whole.")
        parser.add_argument("--since", default=None, help="Rebuild from this day (YYYY-MM-DD) to today.")
        parser.add_argument("--surveys", action="store_true", help="Also rebuild every survey's figures.")

    def handle(self, *args, days=None, since=None, surveys=False, **options):
        today = timezone.localdate()
        started = time.perf_counter()
        if since is not None or days is not None:
            if since is not None:
                try:
                    start = dt.date.fromisoformat(since)
                except ValueError as error:
                    raise CommandError(f"--since: {error}") from error
            else:
                if days < 1:
                    raise CommandError("--days must be at least 1.")
                start = today - dt.timedelta(days=days - 1)
            if start > today:
                raise CommandError("--since is in the future.")
            written = rollups.rebuild(start=start, end=today)
            summary = ", ".join(f"{table} {count}" for table, count in sorted(written.items()))
            self.stdout.write(f"Rebuilt {start}..{today}: {summary}")
        else:
            rollups.recent_refresh(today=today)
            self.stdout.write(f"Refreshed {today - dt.timedelta(days=1)}..{today}")
        if surveys:
            from stats.surveys import surveys_rebuild

            surveys_rebuild()
            self.stdout.write("Rebuilt the surveys' figures")
        self.stdout.write(f"in {time.perf_counter() - started:.1f} s")

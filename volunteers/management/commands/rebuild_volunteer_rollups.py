"""`python manage.py rebuild_volunteer_rollups [--region-path PATH]`: the hour rollups, from the records.

VolunteerProfile.approved_minutes and the region, school, team, activity and campaign rollups (the organisers'
totals page reads only those) are kept by the services in the approving transaction; this command recomputes
them in SQL from the counting records (volunteers/rollups.py), after a bulk load or as a repair (after a
region, school or campaign moved to another region, for instance). On PostgreSQL it holds off hour approvals
and membership changes while it runs (they wait, then apply on top). Prints the rows written per table and
how many volunteers' approved minutes it fixed.
"""

import time

from django.core.management.base import BaseCommand, no_translations

from volunteers.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the volunteers' hour rollups (approved minutes, region/school/team/activity totals)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--region-path",
            default="",
            help="Only the rollups under this region path (e.g. 430000/430100/); all of them by default.",
        )

    # Its output is read by scripts and logs: always in English.
    @no_translations
    def handle(self, *args, **options):
        started = time.monotonic()
        written = rollups_rebuild(region_path=options["region_path"])
        for table, rows in sorted(written.items()):
            self.stdout.write(f"{table}: {rows}")
        self.stdout.write(f"rebuilt in {time.monotonic() - started:.1f} s")

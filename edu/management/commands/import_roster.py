"""`python manage.py import_roster --school CODE FILE [--dry-run]`: import a school's roster, all or none.

Output, on stdout: `N students imported` (or `N students valid` with --dry-run) and exit status 0, then a
line with what changed; or one line per problem (`row N: message`) and exit status 1, with nothing imported.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import timezone
from django.utils.translation import ngettext

from edu.models import School
from edu.roster_parsing import parse_roster
from edu.rosters import ROSTER_MAX_ROWS, roster_import


class Command(BaseCommand):
    help = "Import a school's student roster from .xlsx or .csv; nothing on any error."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the roster file (.xlsx or .csv)")
        parser.add_argument("--school", required=True, help="the school's code")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and the roster, import nothing"
        )

    # Its output is a documented contract (`N students imported`, `row N: message`): always in English.
    @no_translations
    def handle(self, *args, file: str, school: str, dry_run: bool, **options):
        target = School.objects.filter(code=school).first()
        if target is None:
            raise CommandError(f"No school has the code {school}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        parsed = parse_roster(
            path.read_bytes(), path.name, today=timezone.localdate(), max_rows=ROSTER_MAX_ROWS
        )
        errors = list(parsed.errors)
        result = None
        if parsed.students:
            # Every problem at once: the rows' own and those against the database (another school's number).
            result = roster_import(
                school=target, students=parsed.students, by=None, now=timezone.now(), dry_run=True
            )
            errors += result.errors
            if not errors and not dry_run:
                result = roster_import(school=target, students=parsed.students, by=None, now=timezone.now())
                errors = result.errors
        if errors or result is None:
            for error in sorted(errors, key=lambda error: (error.row is not None, error.row or 0)):
                self.stdout.write(str(error))
            raise SystemExit(1)
        count = result.total
        if dry_run:
            message = ngettext("%(count)s student valid", "%(count)s students valid", count)
        else:
            message = ngettext("%(count)s student imported", "%(count)s students imported", count)
        self.stdout.write(message % {"count": count})
        self.stdout.write(
            f"new: {len(result.created)}, moved: {len(result.moved)}, corrected: {len(result.updated)}, "
            f"unchanged: {len(result.unchanged)}, new classes: {len(result.new_classes)}"
        )

"""`python manage.py close_missed_checkouts`: close check-ins left open after their shift ended.

Each is closed at its shift's end and its hour record is flagged for the approver. Run it every few minutes
(cron or a systemd timer); two runs at once close each check-in once. Prints `N check-ins closed`.
"""

from django.core.management.base import BaseCommand, no_translations
from django.utils import timezone

from volunteers.services import missed_checkouts_close


class Command(BaseCommand):
    help = "Close check-ins whose shift has ended without a check-out, at the shift's end (flagged)."

    # Its output is read by scripts and logs: always in English.
    @no_translations
    def handle(self, *args, **options):
        closed = missed_checkouts_close(now=timezone.now())
        self.stdout.write(f"{closed} check-in{'' if closed == 1 else 's'} closed")

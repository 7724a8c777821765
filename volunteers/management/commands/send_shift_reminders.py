"""`python manage.py send_shift_reminders [--hours N]`: e-mail volunteers whose shift starts within N hours.

Each shift's reminder goes out once, however often this runs and however many copies run at once. Run it
hourly. Prints `N reminders sent`.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import timezone

from volunteers.services import shift_reminders_send


class Command(BaseCommand):
    help = "E-mail a reminder to the confirmed volunteers of shifts starting soon (once per shift)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=int,
            default=24,
            help="remind of shifts starting within this many hours (default 24)",
        )

    @no_translations
    def handle(self, *args, hours: int, **options):
        if hours < 1:
            raise CommandError("--hours must be at least 1")
        sent = shift_reminders_send(now=timezone.now(), within=timedelta(hours=hours))
        self.stdout.write(f"{sent} reminder{'' if sent == 1 else 's'} sent")

"""`python manage.py loaddemo`: an idempotent, believable demo, built by the core and every app's demo.py."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from edu.demo import DEMO_PASSWORD, DemoContext, loaders


class Command(BaseCommand):
    help = (
        "Load the demo: a province with cities, counties, schools and classes, campaigns and demo accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even with DEBUG off (the demo accounts share a published password).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off: the demo's accounts share a published password. "
                "Use --allow-production only on a throwaway site."
            )
        autodiscover_modules("demo")
        ctx = DemoContext(today=timezone.localdate())
        with transaction.atomic():
            for load in loaders():
                load(ctx)
        self.stdout.write(
            self.style.SUCCESS(f"Demo loaded: {len(ctx.regions)} regions, {len(ctx.schools)} schools.")
        )
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, shows in ctx.accounts:
            self.stdout.write(f"  {username:<10} {shows}")

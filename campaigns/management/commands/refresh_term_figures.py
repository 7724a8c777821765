"""`python manage.py refresh_term_figures [--term ID]`: rebuild every school's figures of the terms under
way (or of one term, by its campaign's id) from StudentProgress; after bulk loads, and every minute."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.figures import term_figures_refresh
from campaigns.models import Term


class Command(BaseCommand):
    help = "Rebuild the per-school figures of the terms under way (or of --term, a campaign id)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--term", type=int, default=None, help="the term's campaign id (default: every term under way)"
        )

    def handle(self, *args, term, **options):
        terms = Term.objects.select_related("campaign")
        if term is not None:
            terms = terms.filter(campaign_id=term)
            if not terms.exists():
                raise CommandError(f"No second-classroom term with campaign id {term}.")
        else:
            today = timezone.localdate()
            terms = terms.filter(campaign__starts_on__lte=today, campaign__ends_on__gte=today)
        refreshed = sum(term_figures_refresh(term=one) for one in terms.order_by("pk"))
        self.stdout.write(f"{refreshed} schools refreshed")

"""A campaign: the frame every quiz, contest, school term and volunteer activity hangs on."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from edu.models import Region


class Campaign(models.Model):
    class Kind(models.TextChoices):
        DAY_626 = "day_626", _("6·26 International Day Against Drug Abuse")
        SEVEN_ENTRIES = "seven_entries", _("“Seven entries” outreach")
        CONTEST_SEASON = "contest_season", _("Knowledge-contest season")
        SECOND_CLASSROOM = "second_classroom", _("Second-classroom term")
        OTHER = "other", _("Other")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("region"),
        help_text=_("The campaign runs in this region and everything under it."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    description = models.TextField(_("description"), blank=True)
    cover = models.ImageField(_("cover image"), upload_to="campaigns/covers/", blank=True)
    organisers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="organised_campaigns", verbose_name=_("organisers")
    )
    is_published = models.BooleanField(
        _("published"),
        default=True,
        help_text=_("Unpublished campaigns are seen only by their region's organisers."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "title"]
        indexes = [models.Index(fields=["ends_on", "starts_on"], name="campaign_dates")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> str:
        today = timezone.localdate()
        if today < self.starts_on:
            return "upcoming"
        if today > self.ends_on:
            return "past"
        return "current"

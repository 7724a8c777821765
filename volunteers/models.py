"""Volunteers, teams, activities with shifts, check-in, service hours, certificates (docs/volunteers.md)."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from campaigns.models import Campaign
from edu.models import Region, School
from volunteers.hour_rules import HourRules, Interval


def hour_rules() -> HourRules:
    """The hour rules configured in settings.VOLUNTEER_HOUR_RULES (defaults where a key is missing)."""
    return HourRules(**getattr(settings, "VOLUNTEER_HOUR_RULES", {}))


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Whole years of age on `day` (someone born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def new_checkin_secret() -> str:
    return secrets.token_urlsafe(32)


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


class Skill(models.TextChoices):
    FIRST_AID = "first_aid", _("first aid")
    PUBLIC_SPEAKING = "public_speaking", _("public speaking")
    PHOTOGRAPHY = "photography", _("photography and video")
    DESIGN = "design", _("drawing and design")
    PERFORMANCE = "performance", _("performance (music, drama)")
    WRITING = "writing", _("writing and editing")
    COUNSELLING = "counselling", _("counselling and social work")
    LAW = "law", _("legal knowledge")
    MEDICINE = "medicine", _("medicine and pharmacy")
    IT = "it", _("computers and the internet")
    SIGN_LANGUAGE = "sign_language", _("sign language")
    FOREIGN_LANGUAGE = "foreign_language", _("foreign languages")
    DRIVING = "driving", _("driving")


class NumberSequence(models.Model):
    """A named counter (volunteer numbers per region, certificate numbers per year) that hands out each
    value once, even to simultaneous requests: the row is locked by the UPDATE that increments it."""

    name = models.CharField(max_length=60, unique=True)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_value}"


class VolunteerProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volunteer", verbose_name=_("user")
    )
    real_name = models.CharField(
        _("real name"), max_length=50, help_text=_("For certificates and organisers; never shown in public.")
    )
    phone = models.CharField(_("phone"), max_length=20)
    birth_date = models.DateField(_("date of birth"))
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="volunteers", verbose_name=_("region")
    )
    # A copy of region.path, as on School: an organiser's volunteers are one prefix query.
    region_path = models.CharField(max_length=255, editable=False)
    school = models.ForeignKey(
        School,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteers",
        verbose_name=_("school"),
    )
    skills = models.JSONField(_("skills"), default=list, blank=True)
    emergency_contact_name = models.CharField(_("emergency contact"), max_length=50)
    emergency_contact_phone = models.CharField(_("emergency contact's phone"), max_length=20)
    volunteer_number = models.CharField(_("volunteer number"), max_length=30, unique=True)
    guardian_name = models.CharField(_("guardian's name"), max_length=50, blank=True)
    guardian_phone = models.CharField(_("guardian's phone"), max_length=20, blank=True)
    guardian_consent_at = models.DateTimeField(_("guardian's consent recorded at"), null=True, blank=True)
    guardian_consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("guardian's consent recorded by"),
    )
    # The language the volunteer registered in: reminders are written in it.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    # The sum of the minutes of their approved, not superseded records; kept in the approving transaction.
    approved_minutes = models.PositiveIntegerField(_("approved minutes"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["volunteer_number"]
        indexes = [
            models.Index(
                fields=["region_path"], name="volunteer_region_path", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["approved_minutes"], name="volunteer_approved_minutes"),
            models.Index(fields=["school", "approved_minutes"], name="volunteer_school_minutes"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer_number} {self.user.public_name}"

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    @property
    def public_name(self) -> str:
        """The name for other users and public screens: the nickname or an initial, never the real name."""
        return self.user.public_name

    def age_on(self, day: dt.date) -> int:
        return age_on(self.birth_date, day)


class Team(models.Model):
    class Kind(models.TextChoices):
        SCHOOL = "school", _("school team")
        COMMUNITY = "community", _("community team")
        ORGANISATION = "organisation", _("organisation's team")
        RECOVERY = "recovery", _("recovery peer team")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_path = models.CharField(max_length=255, editable=False)
    school = models.ForeignKey(
        School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    members = models.ManyToManyField(
        VolunteerProfile, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = pgettext_lazy("volunteer service", "teams")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["region_path"], name="team_region_path", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class TeamMembership(models.Model):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    volunteer = models.ForeignKey(
        VolunteerProfile, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("volunteer")
    )
    is_leader = models.BooleanField(_("leader"), default=False)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        ordering = ["team", "-is_leader", "joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "volunteer"], name="team_membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.team} · {self.volunteer}"


class Activity(models.Model):
    class OpenTo(models.TextChoices):
        ANYONE = "anyone", _("anyone")
        TEAM = "team", _("one team's members")
        SCHOOL = "school", _("one school's volunteers")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="volunteer_activities", verbose_name=_("campaign")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    address = models.CharField(_("address"), max_length=255)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    region_path = models.CharField(max_length=255, editable=False)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=0)
    skills_required = models.JSONField(_("skills required"), default=list, blank=True)
    signup_opens_at = models.DateTimeField(_("sign-up opens at"))
    signup_closes_at = models.DateTimeField(_("sign-up closes at"))
    open_to = models.CharField(_("open to"), max_length=8, choices=OpenTo.choices, default=OpenTo.ANYONE)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("team"),
    )
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("school")
    )
    organisers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organised_activities", verbose_name=_("organisers")
    )
    is_published = models.BooleanField(_("published"), default=True)
    # The key of the rotating check-in QR token (checkin_codes.py); never shown.
    checkin_secret = models.CharField(max_length=64, default=new_checkin_secret, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("volunteer activity")
        verbose_name_plural = _("volunteer activities")
        ordering = ["-signup_opens_at", "title"]
        indexes = [
            models.Index(
                fields=["region_path"], name="activity_region_path", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(signup_closes_at__gt=F("signup_opens_at")), name="activity_signup_window"
            ),
            models.CheckConstraint(
                condition=~Q(open_to="team") | Q(team__isnull=False), name="activity_team_named"
            ),
            models.CheckConstraint(
                condition=~Q(open_to="school") | Q(school__isnull=False), name="activity_school_named"
            ),
            models.CheckConstraint(condition=Q(min_age__lte=100), name="activity_min_age_sane"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class Shift(models.Model):
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("activity")
    )
    role = models.CharField(_("role"), max_length=100, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"))
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["starts_at"], name="shift_starts_at")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="shift_capacity_at_least_one"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{self.activity} · {self.role} {start:%Y-%m-%d %H:%M}".replace("  ", " ")

    @property
    def interval(self) -> Interval:
        return Interval(start=self.starts_at, end=self.ends_at)


class Signup(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        WAITLISTED = "waitlisted", _("on the waiting list")
        CANCELLED = "cancelled", _("cancelled")

    class CheckinMethod(models.TextChoices):
        QR = "qr", _("QR code")
        ORGANISER = "organiser", _("by an organiser")

    shift = models.ForeignKey(
        Shift, on_delete=models.CASCADE, related_name="signups", verbose_name=_("shift")
    )
    volunteer = models.ForeignKey(
        VolunteerProfile, on_delete=models.CASCADE, related_name="signups", verbose_name=_("volunteer")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(_("signed up at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checkin_method = models.CharField(
        _("check-in method"), max_length=10, choices=CheckinMethod.choices, blank=True
    )
    auto_closed = models.BooleanField(
        _("closed automatically"), default=False, help_text=_("A missed check-out closed at the shift's end.")
    )

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["created_at", "pk"]
        indexes = [
            # The seats count and the waiting list's order.
            models.Index(fields=["shift", "status", "created_at"], name="signup_queue"),
            models.Index(fields=["volunteer", "status"], name="signup_volunteer_status"),
            # Check-ins not yet checked out: few at any time, looked for on every roster, queue and
            # volunteer page load (missed_checkouts_close), so the index holds only them.
            models.Index(
                fields=["checked_in_at"],
                name="signup_open_checkin",
                condition=Q(checked_in_at__isnull=False, checked_out_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "volunteer"],
                condition=~Q(status="cancelled"),
                name="signup_one_live_per_shift",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_in_at__isnull=False),
                name="signup_checkout_after_checkin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.shift} ({self.status})"

    @property
    def is_checked_in(self) -> bool:
        return self.checked_in_at is not None and self.checked_out_at is None


class ApprovedRecordImmutableError(Exception):
    """An approved hour record is never changed or deleted: correct it with a new record instead."""


class HourRecordQuerySet(models.QuerySet):
    def superseded(self) -> "HourRecordQuerySet":
        return self.filter(Exists(HourRecord.objects.filter(corrects=OuterRef("pk"), status="approved")))

    def counting(self) -> "HourRecordQuerySet":
        """The records that count: approved and not superseded by an approved correction."""
        return self.filter(status="approved").exclude(
            Exists(HourRecord.objects.filter(corrects=OuterRef("pk"), status="approved"))
        )

    def live(self) -> "HourRecordQuerySet":
        """Pending and counting records: what a new record must not overlap."""
        return self.filter(status__in=["pending", "approved"]).exclude(
            Exists(HourRecord.objects.filter(corrects=OuterRef("pk"), status="approved"))
        )

    def delete(self):
        if self.filter(status="approved").exists():
            raise ApprovedRecordImmutableError("approved hour records cannot be deleted")
        return super().delete()


class HourRecord(models.Model):
    class Source(models.TextChoices):
        CHECKIN = "checkin", _("check-in and check-out")
        BACKFILL = "backfill", _("recorded afterwards")
        CORRECTION = "correction", _("correction")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    class ApproverLevel(models.TextChoices):
        ACTIVITY = "activity", _("the activity's organiser")
        CAMPAIGN = "campaign", _("the campaign's organiser")

    class FlagReason(models.TextChoices):
        BACKFILL = "backfill", _("recorded after the event")
        MISSED_CHECKOUT = "missed_checkout", _("missed check-out, closed at the shift's end")
        RULES = "rules", _("breaks an hour rule as recorded")

    volunteer = models.ForeignKey(
        VolunteerProfile, on_delete=models.PROTECT, related_name="hour_records", verbose_name=_("volunteer")
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.PROTECT, related_name="hour_records", verbose_name=_("activity")
    )
    signup = models.ForeignKey(
        Signup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hour_records",
        verbose_name=_("sign-up"),
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    minutes = models.PositiveIntegerField(_("minutes"))
    content = models.TextField(_("service content"))
    place = models.CharField(_("place"), max_length=255, blank=True)
    source = models.CharField(_("recorded through"), max_length=10, choices=Source.choices)
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reason = models.CharField(_("flag reason"), max_length=20, choices=FlagReason.choices, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    approver_level = models.CharField(
        _("approver"), max_length=8, choices=ApproverLevel.choices, default=ApproverLevel.ACTIVITY
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("hour record", "decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = HourRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("service-hour record")
        verbose_name_plural = _("service-hour records")
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "activity"], name="hour_record_queue"),
            models.Index(fields=["volunteer", "started_at"], name="hour_record_volunteer_time"),
            models.Index(fields=["volunteer", "status"], name="hour_record_volunteer_status"),
            # The service of one day, for the statistics rollups (stats/rollups.py).
            models.Index(fields=["started_at"], name="hour_record_started_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="hour_record_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="hour_record_positive_minutes"),
            models.CheckConstraint(
                condition=Q(source="backfill") | Q(signup__isnull=False) | Q(source="correction"),
                name="hour_record_signup_unless_backfill",
            ),
            models.CheckConstraint(
                condition=Q(source="correction", corrects__isnull=False)
                | (~Q(source="correction") & Q(corrects__isnull=True)),
                name="hour_record_correction_names_record",
            ),
            models.CheckConstraint(
                condition=Q(flagged=False) | ~Q(flag_reason=""), name="hour_record_flag_has_reason"
            ),
            # One check-out makes one record.
            models.UniqueConstraint(
                fields=["signup"], condition=Q(source="checkin"), name="hour_record_one_per_checkin"
            ),
            # At most one pending or approved correction per record: corrections form a chain, never a tree.
            models.UniqueConstraint(
                fields=["corrects"],
                condition=Q(status__in=["pending", "approved"]),
                name="hour_record_one_live_correction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity} · {self.minutes} min ({self.status})"

    def save(self, *args, **kwargs) -> None:
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            # The lock makes the check and the write one step: no approval slips in between.
            stored = (
                HourRecord.objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True)
            )
            if list(stored) == [self.Status.APPROVED]:
                raise ApprovedRecordImmutableError(f"hour record {self.pk} is approved and cannot be changed")
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            stored = (
                HourRecord.objects.select_for_update().filter(pk=self.pk).values_list("status", flat=True)
            )
            if list(stored) == [self.Status.APPROVED]:
                raise ApprovedRecordImmutableError(f"hour record {self.pk} is approved and cannot be deleted")
            return super().delete(*args, **kwargs)

    @property
    def interval(self) -> Interval:
        return Interval(start=self.started_at, end=self.ended_at)


class Certificate(models.Model):
    """A certificate of service hours; it holds a snapshot, so later corrections never change it."""

    number = models.CharField(_("number"), max_length=30, unique=True)
    volunteer = models.ForeignKey(
        VolunteerProfile, on_delete=models.PROTECT, related_name="certificates", verbose_name=_("volunteer")
    )
    verification_token = models.CharField(
        max_length=64, unique=True, default=new_verification_token, editable=False
    )
    holder_name = models.CharField(_("holder"), max_length=50)
    volunteer_number = models.CharField(_("volunteer number"), max_length=30)
    minutes = models.PositiveIntegerField(_("minutes of service"))
    first_service_on = models.DateField(_("first service on"))
    last_service_on = models.DateField(_("last service on"))
    service_content = models.TextField(_("service content"))
    issuer_name = models.CharField(_("issued by (organisation)"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1), name="certificate_positive_minutes"),
            models.CheckConstraint(
                condition=Q(last_service_on__gte=F("first_service_on")), name="certificate_service_dates"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class RegionHourTotal(models.Model):
    """Approved minutes and records of the volunteers registered in one region (not its subtree), and how
    many of them have served: a region's total is the sum over its subtree's rows, one prefix query."""

    region = models.OneToOneField(
        Region, on_delete=models.CASCADE, related_name="+", verbose_name=_("region")
    )
    region_path = models.CharField(max_length=255, editable=False)
    minutes = models.PositiveBigIntegerField(_("minutes"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    # The volunteers registered here with approved minutes (a volunteer counts from their first approval).
    volunteers = models.PositiveIntegerField(_("volunteers"), default=0)

    class Meta:
        verbose_name = _("region's service hours")
        verbose_name_plural = _("regions' service hours")
        ordering = ["region_path"]
        indexes = [
            models.Index(fields=["region_path"], name="region_total_path", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.region_path}: {self.minutes} min"

    def save(self, *args, **kwargs) -> None:
        self.region_path = self.region.path
        super().save(*args, **kwargs)


class HourTotal(models.Model):
    """A rollup of the counting records (approved, not superseded) of one school, team, activity or
    campaign, kept with F() in the approving transaction (and, for teams, in the membership change's): the
    organisers' totals page reads only these. `region_path` copies the object's region path, so "the top rows
    under a region by minutes" is one indexed query. `volunteers` counts the volunteers behind the records."""

    region_path = models.CharField(max_length=255, editable=False)
    minutes = models.PositiveBigIntegerField(_("minutes"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    volunteers = models.PositiveIntegerField(_("volunteers"), default=0)

    class Meta:
        abstract = True

    @property
    def hours(self) -> float:
        return self.minutes / 60


def _hour_total_indexes(prefix: str) -> list[models.Index]:
    # Under a small region: the path range, then the few rows sorted; under a large one (or the whole
    # site): the rows by minutes, most first, until N of them are under the region.
    return [
        models.Index(
            fields=["region_path", "-minutes"],
            name=f"{prefix}_path_minutes",
            opclasses=["varchar_pattern_ops", "int8_ops"],
        ),
        models.Index(fields=["-minutes"], name=f"{prefix}_minutes"),
    ]


class SchoolHourTotal(HourTotal):
    """The counting records of the volunteers attached to a school (VolunteerProfile.school)."""

    school = models.OneToOneField(
        School, on_delete=models.CASCADE, related_name="+", verbose_name=_("school")
    )

    class Meta:
        verbose_name = _("school's service hours")
        verbose_name_plural = _("schools' service hours")
        ordering = ["-minutes", "school"]
        indexes = _hour_total_indexes("school_total")

    def __str__(self) -> str:
        return f"school {self.school_id}: {self.minutes} min"


class TeamHourTotal(HourTotal):
    """The counting records of a team's current members (all of a member's service, wherever it was): a
    member who joins brings their approved minutes, one who leaves takes them away."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))

    class Meta:
        verbose_name = _("team's service hours")
        verbose_name_plural = _("teams' service hours")
        ordering = ["-minutes", "team"]
        indexes = _hour_total_indexes("team_total")

    def __str__(self) -> str:
        return f"team {self.team_id}: {self.minutes} min"


class ActivityHourTotal(HourTotal):
    """The counting records of one activity; `campaign` copies the activity's, for the campaign's pages."""

    activity = models.OneToOneField(
        Activity, on_delete=models.CASCADE, related_name="+", verbose_name=_("volunteer activity")
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )

    class Meta:
        verbose_name = _("activity's service hours")
        verbose_name_plural = _("activities' service hours")
        ordering = ["-minutes", "activity"]
        indexes = _hour_total_indexes("activity_total")

    def __str__(self) -> str:
        return f"activity {self.activity_id}: {self.minutes} min"


class CampaignHourTotal(HourTotal):
    """The counting records of all of a campaign's activities; `region_path` is the campaign's region's."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )

    class Meta:
        verbose_name = _("campaign's service hours")
        verbose_name_plural = _("campaigns' service hours")
        ordering = ["-minutes", "campaign"]
        indexes = _hour_total_indexes("campaign_total")

    def __str__(self) -> str:
        return f"campaign {self.campaign_id}: {self.minutes} min"

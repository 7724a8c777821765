"""Forms of the organisers' volunteer pages: activities with shifts, the hour queue, backfill, search."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.selectors import campaigns_editable
from edu.models import Region, User
from edu.selectors import regions_for_user, schools_for_user
from volunteers.models import Activity, HourRecord, Skill
from volunteers.selectors import teams_led

DATETIME_WIDGET = {"attrs": {"type": "datetime-local"}, "format": "%Y-%m-%dT%H:%M"}


FIRST_YEAR, LAST_YEAR = 2000, 2100


def _validate_year(value) -> None:
    """Dates far outside service times would overflow the time-zone arithmetic: refuse them plainly."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _("Enter a date between the years %(first)s and %(last)s."),
            code="year_out_of_range",
            params={"first": FIRST_YEAR, "last": LAST_YEAR},
        )


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=forms.DateTimeInput(**DATETIME_WIDGET), validators=[_validate_year]
    )


class ActivityForm(forms.ModelForm):
    """The activity itself (its shifts come in a formset beside it); the campaign is chosen at creation."""

    skills_required = forms.MultipleChoiceField(
        label=_("Skills required"),
        choices=Skill.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Activity
        fields = [
            "campaign",
            "title",
            "description",
            "address",
            "region",
            "latitude",
            "longitude",
            "signup_opens_at",
            "signup_closes_at",
            "min_age",
            "skills_required",
            "open_to",
            "team",
            "school",
            "is_published",
        ]
        labels = {"address": _("Place (address)")}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "signup_opens_at": forms.DateTimeInput(**DATETIME_WIDGET),
            "signup_closes_at": forms.DateTimeInput(**DATETIME_WIDGET),
            "latitude": forms.NumberInput(attrs={"step": "0.000001", "min": "-90", "max": "90"}),
            "longitude": forms.NumberInput(attrs={"step": "0.000001", "min": "-180", "max": "180"}),
            "min_age": forms.NumberInput(attrs={"min": "0", "max": "100"}),
        }
        help_texts = {
            "region": _("Where the activity takes place: the campaign's region or a region under it."),
            "latitude": _("Optional: with the longitude, shows the place on a map."),
            "signup_closes_at": _("Volunteers can sign up and cancel until then."),
            "min_age": _("0 for no limit. Volunteers under 14 also need their guardian's consent on record."),
        }

    def __init__(self, *args, editor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor = editor
        if self.instance.pk:
            # An activity stays in its campaign: its records and totals are counted there.
            del self.fields["campaign"]
        else:
            self.fields["campaign"].queryset = campaigns_editable(user=editor).order_by("-starts_on", "title")
            self.fields["campaign"].label = _("Campaign")
            self.fields["campaign"].empty_label = _("Choose a campaign")
        if self.instance.pk:
            # Whoever organises the activity may move it within its campaign's region.
            regions = Region.objects.filter(path__startswith=self.instance.campaign.region.path)
        else:
            regions = regions_for_user(user=editor)
        self.fields["region"].queryset = regions
        self.fields["team"].queryset = self._with_current(teams_led(user=editor), "team_id").order_by("name")
        self.fields["team"].required = False
        self.fields["school"].queryset = self._with_current(
            schools_for_user(user=editor), "school_id"
        ).order_by("region_path", "name")
        self.fields["school"].required = False
        if not self.instance.pk and editor.region_id and "region" not in self.initial:
            self.initial["region"] = editor.region_id
        self.fields["latitude"].help_text = ActivityForm.Meta.help_texts["latitude"]
        for name in ("signup_opens_at", "signup_closes_at"):
            self.fields[name].validators.append(_validate_year)

    def _with_current(self, choices: QuerySet, attribute: str) -> QuerySet:
        """The editor's choices plus the activity's current one, which another organiser may have set."""
        current = getattr(self.instance, attribute, None)
        if current is None:
            return choices
        return choices.model.objects.filter(Q(pk__in=choices.values("pk")) | Q(pk=current))

    @property
    def chosen_campaign(self) -> Campaign | None:
        if self.instance.pk:
            return self.instance.campaign
        return self.cleaned_data.get("campaign")

    def clean(self):
        cleaned = super().clean()
        campaign, region = self.chosen_campaign, cleaned.get("region")
        if campaign and region and not region.path.startswith(campaign.region.path):
            self.add_error(
                "region",
                _("Choose %(region)s or a region under it: the activity belongs to that campaign.")
                % {"region": campaign.region.display_name},
            )
        opens, closes = cleaned.get("signup_opens_at"), cleaned.get("signup_closes_at")
        if opens and closes and closes <= opens:
            self.add_error("signup_closes_at", _("Sign-up must close after it opens."))
        latitude, longitude = cleaned.get("latitude"), cleaned.get("longitude")
        if (latitude is None) != (longitude is None):
            self.add_error("longitude", _("Give both the latitude and the longitude, or neither."))
        open_to = cleaned.get("open_to")
        if open_to == Activity.OpenTo.TEAM and not cleaned.get("team"):
            self.add_error("team", _("Choose the team the activity is open to."))
        if open_to == Activity.OpenTo.SCHOOL and not cleaned.get("school"):
            self.add_error("school", _("Choose the school the activity is open to."))
        # A team or school only matters when the activity is limited to it.
        if open_to != Activity.OpenTo.TEAM:
            cleaned["team"] = None
        if open_to != Activity.OpenTo.SCHOOL:
            cleaned["school"] = None
        return cleaned

    def activity_fields(self) -> dict:
        """The cleaned values as keyword arguments of services.activity_create, but campaign and shifts."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "address": data["address"],
            "region": data["region"],
            "latitude": data["latitude"],
            "longitude": data["longitude"],
            "signup_opens_at": data["signup_opens_at"],
            "signup_closes_at": data["signup_closes_at"],
            "min_age": data["min_age"],
            "skills_required": list(data["skills_required"]),
            "open_to": data["open_to"],
            "team": data["team"],
            "school": data["school"],
            "is_published": data["is_published"],
        }


class ShiftForm(forms.Form):
    role = forms.CharField(
        label=_("Role"), max_length=100, required=False, help_text=_("For example “reception” or “stall”.")
    )
    starts_at = _datetime_field(_("Starts at"))
    ends_at = _datetime_field(_("Ends at"))
    capacity = forms.IntegerField(
        label=_("Places"), min_value=1, max_value=10000, widget=forms.NumberInput(attrs={"min": "1"})
    )

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("A shift must end after it starts."))
        return cleaned


class BaseShiftFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": _("An activity needs at least one shift: fill in a row."),
        "too_many_forms": _("Too many shifts at once: add more after saving."),
    }

    def shifts(self) -> list[dict]:
        """The filled-in rows as services.activity_create expects them; blank extra rows are left out."""
        return [
            {key: form.cleaned_data[key] for key in ("role", "starts_at", "ends_at", "capacity")}
            for form in self.forms
            if form.has_changed() and form.cleaned_data
        ]


NewShiftFormSet = forms.formset_factory(
    ShiftForm, formset=BaseShiftFormSet, extra=2, min_num=1, validate_min=True, max_num=50, validate_max=True
)
AddShiftFormSet = forms.formset_factory(
    ShiftForm, formset=BaseShiftFormSet, extra=1, min_num=0, max_num=50, validate_max=True
)


class CapacityForm(forms.Form):
    """The places of one existing shift, on the edit page."""

    capacity = forms.IntegerField(
        label=_("Places"), min_value=1, max_value=10000, widget=forms.NumberInput(attrs={"min": "1"})
    )


class ActivityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False, empty_label=_("All campaigns")
    )
    when = forms.ChoiceField(
        label=_("When"),
        required=False,
        choices=[
            ("", _("Any time")),
            ("upcoming", _("Upcoming")),
            ("past", _("Finished")),
        ],
    )
    region = forms.ModelChoiceField(
        label=_("Region"), queryset=Region.objects.none(), required=False, empty_label=_("All regions")
    )
    mine = forms.BooleanField(label=_("Only activities I organise"), required=False)

    def __init__(self, *args, user: User, campaigns: QuerySet[Campaign], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns
        self.fields["region"].queryset = regions_for_user(user=user)


class HourFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *HourRecord.Status.choices],
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False, empty_label=_("All campaigns")
    )
    activity = forms.ModelChoiceField(
        label=_("Activity"), queryset=Activity.objects.none(), required=False, empty_label=_("All activities")
    )
    number = forms.CharField(label=_("Volunteer number"), required=False, max_length=30)
    date_from = forms.DateField(
        label=_("Service date from"),
        required=False,
        validators=[_validate_year],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Service date to"),
        required=False,
        validators=[_validate_year],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    flagged = forms.BooleanField(label=_("Flagged only"), required=False)

    def __init__(self, *args, campaigns: QuerySet[Campaign], activities: QuerySet[Activity], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns
        self.fields["activity"].queryset = activities

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", _("The end of the range is before its start."))
        cleaned["number"] = (cleaned.get("number") or "").strip().upper()
        return cleaned


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The volunteer sees this reason; they can ask for a correction."),
        error_messages={"required": _("Give a reason: the volunteer sees it and can correct the record.")},
    )


class BackfillForm(forms.Form):
    volunteer_number = forms.CharField(
        label=_("Volunteer number"),
        max_length=30,
        help_text=_("As on the volunteer's profile, e.g. V430104000012."),
    )
    activity = forms.ModelChoiceField(
        label=_("Activity"), queryset=Activity.objects.none(), empty_label=_("Choose an activity")
    )
    started_at = _datetime_field(_("Started at"))
    ended_at = _datetime_field(_("Ended at"))
    content = forms.CharField(
        label=_("Service content"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the volunteer did, as it will appear on the record and the certificate."),
    )

    def __init__(self, *args, activities: QuerySet[Activity], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].queryset = activities

    def clean_volunteer_number(self) -> str:
        return "".join(self.cleaned_data["volunteer_number"].split()).upper()

    def clean(self):
        cleaned = super().clean()
        started_at, ended_at = cleaned.get("started_at"), cleaned.get("ended_at")
        if started_at and ended_at and ended_at <= started_at:
            self.add_error("ended_at", _("The service must end after it starts."))
        return cleaned


class VolunteerSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or volunteer number"), required=False, max_length=50)
    consent = forms.BooleanField(label=_("Needs guardian consent"), required=False)

"""Forms of the volunteers' own pages: registration and profile, filters, teams, corrections."""

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from edu.models import Region, School
from volunteers.models import Skill, Team, age_on

# A mainland mobile number: 11 digits starting 13–19.
MOBILE = re.compile(r"1[3-9]\d{9}")
# A landline: area code 0xx or 0xxx, a 7- or 8-digit number, an optional extension.
LANDLINE = re.compile(r"0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?")
GUARDIAN_CONSENT_AGE = 14
ADULT_AGE = 18
OLDEST_AGE = 120

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def normalise_phone(value: str) -> str:
    """Spaces, dashes between groups of a mobile number and a +86 prefix are common and harmless."""
    value = re.sub(r"[\s()（）]", "", value or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    if MOBILE.fullmatch(value.replace("-", "")):
        return value.replace("-", "")
    return value


def validate_phone(value: str) -> None:
    if not (MOBILE.fullmatch(value) or LANDLINE.fullmatch(value)):
        raise ValidationError(
            _(
                "Enter an 11-digit mobile number (such as 13812345678) or a landline with its area code "
                "(such as 0731-88886666)."
            ),
            code="phone",
        )


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "tel", "autocomplete": "tel"})

    def to_python(self, value):
        return normalise_phone(super().to_python(value))

    def validate(self, value):
        super().validate(value)
        if value:
            validate_phone(value)


class _RegionGroups(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        regions = list(self.queryset)
        leaves = [region for region in regions if region.level == Region.Level.COUNTY] or regions
        groups: dict[str, list] = {}
        for region in leaves:
            parents = []
            parent = region.parent
            while parent is not None:
                parents.append(parent.display_name)
                parent = parent.parent
            groups.setdefault(" · ".join(reversed(parents)), []).append(self.choice(region))
        for group, options in groups.items():
            if group:
                yield (group, options)
            else:
                yield from options


class RegionChoiceField(forms.ModelChoiceField):
    """Counties grouped under their province and city, so a long list stays easy to scan on a phone."""

    iterator = _RegionGroups

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Region.objects.select_related("parent", "parent__parent"))
        kwargs.setdefault("label", _("Region"))
        super().__init__(**kwargs)


class _SchoolGroups(ModelChoiceIterator):
    def __iter__(self):
        yield ("", self.field.empty_label)
        groups: dict[str, list] = {}
        for school in self.queryset:
            groups.setdefault(school.region.display_name, []).append(self.choice(school))
        yield from groups.items()


class SchoolSelect(forms.Select):
    """Each school option carries its region, so the page's script can offer only the chosen region's."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        school = getattr(value, "instance", None)
        if school is not None:
            option["attrs"]["data-region"] = str(school.region_id)
        return option


class SchoolChoiceField(forms.ModelChoiceField):
    """Schools grouped by their county; the page's script narrows the list to the chosen region."""

    iterator = _SchoolGroups
    widget = SchoolSelect

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", School.objects.select_related("region"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("School (optional)"))
        kwargs.setdefault("empty_label", _("No school"))
        super().__init__(**kwargs)


class ProfileForm(forms.Form):
    """What a volunteer may change later; the volunteer number and the birth date stay as registered."""

    real_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        help_text=_("As on your ID card. Used on certificates and seen by organisers only, never in public."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = PhoneField(label=_("Phone"))
    region = RegionChoiceField(help_text=_("The county or district where you live or usually serve."))
    school = SchoolChoiceField(
        help_text=_("For students, parents and teachers who volunteer with a school's team.")
    )
    skills = forms.MultipleChoiceField(
        label=_("Skills"), choices=Skill.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    emergency_contact_name = forms.CharField(label=_("Emergency contact"), max_length=50)
    emergency_contact_phone = PhoneField(label=_("Emergency contact's phone"))

    def clean_real_name(self) -> str:
        name = " ".join(self.cleaned_data["real_name"].split())
        if not name:
            raise ValidationError(_("Enter your real name."), code="required")
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("phone") and cleaned.get("phone") == cleaned.get("emergency_contact_phone"):
            self.add_error(
                "emergency_contact_phone",
                _("Give someone else's phone number: we call them if something happens to you."),
            )
        return cleaned


class RegistrationForm(ProfileForm):
    birth_date = forms.DateField(label=_("Date of birth"), widget=DATE_INPUT)
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=50, required=False)
    guardian_phone = PhoneField(label=_("Guardian's phone"), required=False)
    guardian_agrees = forms.BooleanField(
        label=_("My parent or guardian knows and agrees that I volunteer."), required=False
    )

    field_order = [
        "real_name",
        "phone",
        "birth_date",
        "region",
        "school",
        "skills",
        "emergency_contact_name",
        "emergency_contact_phone",
        "guardian_name",
        "guardian_phone",
        "guardian_agrees",
    ]

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["birth_date"].widget.attrs["max"] = self.today.isoformat()

    def clean_birth_date(self) -> dt.date:
        birth_date = self.cleaned_data["birth_date"]
        if birth_date > self.today:
            raise ValidationError(_("The date of birth cannot be in the future."), code="future")
        if age_on(birth_date, self.today) > OLDEST_AGE:
            raise ValidationError(_("Check the year of your date of birth."), code="too_old")
        return birth_date

    @property
    def age(self) -> int | None:
        birth_date = self.cleaned_data.get("birth_date") if hasattr(self, "cleaned_data") else None
        return age_on(birth_date, self.today) if birth_date else None

    def clean(self):
        cleaned = super().clean()
        age = self.age
        if age is None or age >= ADULT_AGE:
            return cleaned
        if age < GUARDIAN_CONSENT_AGE:
            if not cleaned.get("guardian_name") and "guardian_name" not in self.errors:
                self.add_error("guardian_name", _("Under 14: enter your parent's or guardian's name."))
            if not cleaned.get("guardian_phone") and "guardian_phone" not in self.errors:
                self.add_error("guardian_phone", _("Under 14: enter your parent's or guardian's phone."))
        elif not cleaned.get("guardian_agrees"):
            self.add_error(
                "guardian_agrees",
                _("Volunteers aged 14 to 17 need their guardian's agreement: ask them, then tick the box."),
            )
        return cleaned


class ActivityFilterForm(forms.Form):
    WHEN_CHOICES = [("upcoming", _("Upcoming")), ("past", _("Past")), ("all", _("All"))]

    when = forms.ChoiceField(label=_("When"), choices=WHEN_CHOICES, required=False)
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int, required=False, empty_value=None)
    region = forms.TypedChoiceField(label=_("Region"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, campaigns: list[tuple[int, str]], regions: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", _("All campaigns")), *campaigns]
        self.fields["region"].choices = [("", _("All regions")), *regions]

    def filters(self) -> dict:
        """The valid filters; an invalid value (a stale link) is ignored rather than shown as an error."""
        values = {"when": "upcoming", "campaign": None, "region": None}
        if self.is_bound:
            self.is_valid()
            for name in values:
                if name not in self.errors and self.cleaned_data.get(name):
                    values[name] = self.cleaned_data[name]
        return values


class CorrectionRequestForm(forms.Form):
    """A volunteer asks for a record to be corrected: the times and content as they should be, and why."""

    started_at = forms.DateTimeField(
        label=_("Started at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS)
    content = forms.CharField(
        label=_("Service content"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    reason = forms.CharField(
        label=_("Why it should be corrected"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: “I checked out late: I left at 11:30.”"),
    )

    def clean(self):
        cleaned = super().clean()
        started_at, ended_at = cleaned.get("started_at"), cleaned.get("ended_at")
        if started_at and ended_at and ended_at <= started_at:
            self.add_error("ended_at", _("The end must be after the start."))
        return cleaned


class TeamCreateForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Team.Kind.choices)
    region = RegionChoiceField()
    school = SchoolChoiceField(help_text=_("Only for a school's team."))

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Give the team a name."), code="required")
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Team.Kind.SCHOOL and not cleaned.get("school"):
            self.add_error("school", _("A school team needs its school."))
        return cleaned


class TeamMemberAddForm(forms.Form):
    volunteer_number = forms.CharField(
        label=_("Volunteer number"),
        max_length=30,
        help_text=_("The number on the volunteer's own page, such as V430104000012."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    # Numbers run in sequence and a leader sees members' real names: the number alone would let anyone with a
    # team list every volunteer's name, so the leader must already know both.
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        help_text=_("As the volunteer registered it: ask them."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_volunteer_number(self) -> str:
        return "".join(self.cleaned_data["volunteer_number"].split()).upper()

    def clean_real_name(self) -> str:
        return self.cleaned_data["real_name"].strip()

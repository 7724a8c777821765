"""Forms of the roster pages: upload, claim, move, class teachers and the school's consent rule."""

import contextlib
from pathlib import PurePath

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from edu.models import School, SchoolClass, User
from edu.tabular import DEFAULT_MAX_BYTES

ROSTER_SUFFIXES = (".xlsx", ".csv")
ROSTER_MAX_MB = DEFAULT_MAX_BYTES // (1024 * 1024)


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Roster file"),
        widget=forms.FileInput(attrs={"accept": ",".join(ROSTER_SUFFIXES)}),
        help_text=_("An Excel workbook (.xlsx) or a CSV file, one student per row, as in the template."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = PurePath(upload.name or "").suffix.lower()
        if suffix not in ROSTER_SUFFIXES:
            raise forms.ValidationError(
                _("“%(name)s” is not a roster: upload an Excel workbook (.xlsx) or a CSV file."),
                params={"name": upload.name},
            )
        if upload.size > DEFAULT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB: split it into smaller files."),
                params={"size": ROSTER_MAX_MB},
            )
        return upload


# Django 5.2 changed the wording of its minimum-length message, and its own Chinese catalog does not have the
# new one: named here, makemessages puts it in the project's catalog, which is searched first, so a student
# setting a short password on the claim (or sign-up) page reads it in Chinese.
PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    "min_length",
)


class ClaimForm(forms.Form):
    """Typed on a phone from a paper slip: no autocorrect, no capitals forced on the username."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    claim_code = forms.CharField(
        label=_("Claim code"),
        max_length=20,
        help_text=_("The 8 characters on your slip, for example ABCD‑2345."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("New password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip()

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords are not the same."))
        return cleaned


class ClassChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SchoolClass) -> str:
        return obj.label


class StudentMoveForm(forms.Form):
    school_class = ClassChoiceField(queryset=SchoolClass.objects.none(), label=_("Move to the class"))

    def __init__(self, *args, school: School, current: SchoolClass | None, **kwargs):
        super().__init__(*args, **kwargs)
        classes = SchoolClass.objects.filter(school=school, graduated_on__isnull=True).order_by(
            "grade", "name"
        )
        if current is not None:
            classes = classes.exclude(pk=current.pk)
        self.fields["school_class"].queryset = classes


class TeacherChoiceField(forms.ModelMultipleChoiceField):
    def clean(self, value):
        # A number beyond 64 bits is no teacher's; SQLite would raise OverflowError on the lookup.
        for pk in value or []:
            with contextlib.suppress(TypeError, ValueError):
                if not -(2**63) <= int(pk) < 2**63:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super().clean(value)

    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.nickname or obj.username


class ClassTeachersForm(forms.Form):
    teachers = TeacherChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Class teachers"),
    )

    def __init__(self, *args, school: School, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teachers"].queryset = User.objects.filter(is_teacher=True, school=school).order_by(
            "first_name", "username"
        )


class ConsentRuleForm(forms.Form):
    requires_guardian_consent = forms.BooleanField(
        required=False,
        label=_("Students need a guardian's consent before they use their account"),
    )

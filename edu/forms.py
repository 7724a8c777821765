"""Forms of the core: the extra sign-up fields and joining a class by its code."""

from django import forms
from django.utils.translation import gettext_lazy as _

from edu.selectors import class_by_join_code


class JoinCodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("label", _("Class join code"))
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        )

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        school_class = class_by_join_code(code=value)
        if school_class is None:
            raise forms.ValidationError(
                _("No class has the code “%(code)s”. Check it with your teacher."), params={"code": value}
            )
        return school_class


class SignupExtraForm(forms.Form):
    """Added to allauth's sign-up form: a public nickname and, for students, the class code."""

    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=30,
        required=False,
        help_text=_("Shown to others on leaderboards instead of your name. Don't use your real name."),
    )
    join_code = JoinCodeField(
        required=False,
        help_text=_("Students: the 8-character code from your teacher puts you in your class."),
    )

    def signup(self, request, user):
        from edu.services import student_join_class

        user.nickname = self.cleaned_data.get("nickname") or ""
        user.save(update_fields=["nickname"])
        school_class = self.cleaned_data.get("join_code")
        if school_class is not None:
            student_join_class(user=user, school_class=school_class)


class JoinClassForm(forms.Form):
    join_code = JoinCodeField(required=True)

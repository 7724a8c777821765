"""Forms for setting a quiz and for a guest's nickname."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.selectors import campaigns_visible
from edu.models import User
from edu.selectors import classes_for_user, schools_for_user
from quizzes.models import Category, Question, Quiz, QuizRule


class QuizForm(forms.ModelForm):
    fixed = forms.ModelMultipleChoiceField(
        label=_("Questions"),
        queryset=Question.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For a quiz with fixed questions: tick the questions in the order you want them."),
    )

    class Meta:
        model = Quiz
        fields = [
            "title",
            "description",
            "language",
            "access",
            "target_class",
            "target_school",
            "campaign",
            "survey_phase",
            "selection",
            "time_limit_minutes",
            "opens_at",
            "closes_at",
            "max_attempts",
            "grading",
            "shuffle_questions",
            "shuffle_options",
            "pass_mark",
            "review",
            "is_published",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "opens_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "closes_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["target_class"].queryset = classes_for_user(user=user).select_related("school")
        self.fields["target_class"].label_from_instance = lambda c: str(c)
        self.fields["target_school"].queryset = schools_for_user(user=user)
        self.fields["campaign"].queryset = campaigns_visible(user=user)
        language = self.data.get("language") or self.initial.get("language") or self.instance.language
        self.fields["fixed"].queryset = (
            Question.objects.filter(Q(status=Question.Status.READY), language=language or "zh-hans")
            .select_related("current_version", "category")
            .order_by("category_path", "difficulty", "pk")
        )
        self.fields["fixed"].label_from_instance = lambda q: q.current_version.stem
        if self.instance.pk:
            self.initial["fixed"] = list(self.instance.fixed_questions.values_list("question_id", flat=True))
        for name in ("opens_at", "closes_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        cleaned = super().clean()
        access = cleaned.get("access")
        needs = {
            Quiz.Access.CLASS: "target_class",
            Quiz.Access.SCHOOL: "target_school",
            Quiz.Access.CAMPAIGN: "campaign",
        }
        if access in needs and not cleaned.get(needs[access]):
            self.add_error(needs[access], _("Choose who may take the quiz."))
        if cleaned.get("survey_phase") and not cleaned.get("campaign"):
            self.add_error(
                "survey_phase", _("A knowledge survey measures a campaign: choose the campaign too.")
            )
        if (
            self.instance.pk
            and "survey_phase" in self.changed_data
            and self.instance.attempts.filter(submitted_at__isnull=False).exists()
        ):
            # The statistics counted its answers as what it was: a survey cannot become practice (or the
            # other way round) once answered.
            self.add_error(
                "survey_phase",
                _(
                    "People have answered this quiz already, so whether it is a survey cannot change: "
                    "make a new quiz."
                ),
            )
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.add_error("closes_at", _("The quiz must close after it opens."))
        if cleaned.get("pass_mark") is not None and cleaned["pass_mark"] > 100:
            self.add_error("pass_mark", _("The pass mark is a percentage: at most 100."))
        if cleaned.get("selection") == Quiz.Selection.FIXED and not cleaned.get("fixed"):
            self.add_error("fixed", _("Choose at least one question."))
        return cleaned


class QuizRuleForm(forms.ModelForm):
    class Meta:
        model = QuizRule
        fields = ["category", "count", "difficulty_min", "difficulty_max", "audience"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.all()
        for name in ("difficulty_min", "difficulty_max"):
            self.fields[name].widget = forms.Select(choices=[(i, i) for i in range(1, 6)])

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("difficulty_min"), cleaned.get("difficulty_max")
        if low and high and low > high:
            self.add_error("difficulty_max", _("The range is empty: “to” is below “from”."))
        return cleaned


QuizRuleFormSet = forms.inlineformset_factory(
    Quiz, QuizRule, form=QuizRuleForm, extra=3, can_delete=True, min_num=0, validate_min=False
)


class GuestStartForm(forms.Form):
    nickname = forms.CharField(
        label=_("Nickname"), max_length=30, help_text=_("Shown on the leaderboard. Don't use your real name.")
    )

"""Forms of the term content pages: a lesson, and a grade's final exam."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.lessons import quizzes_usable, video_url_validate
from campaigns.models import Lesson
from edu.images import reencode_image
from edu.models import User
from quizzes.models import Quiz


def _usable(editor: User, *, keep: int | None):
    return Quiz.objects.filter(Q(pk__in=quizzes_usable(user=editor).values("pk")) | Q(pk=keep)).order_by(
        "title"
    )


class LessonForm(forms.ModelForm):
    # A plain field: the allow-list below decides, not a guessed default scheme.
    video_url = forms.CharField(
        label=Lesson._meta.get_field("video_url").verbose_name,
        help_text=Lesson._meta.get_field("video_url").help_text,
        max_length=500,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://www.bilibili.com/video/BV…"}),
    )

    class Meta:
        model = Lesson
        fields = ["title", "body", "image", "video_url", "minutes", "quiz"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 12}),
        }

    def __init__(self, *args, editor: User, **kwargs):
        super().__init__(*args, **kwargs)
        # A quiz a colleague from elsewhere chose stays choosable on this lesson.
        self.fields["quiz"].queryset = _usable(editor, keep=self.instance.quiz_id)
        self.fields["quiz"].help_text = _(
            "Optional. Students must be able to take it (a quiz of this campaign, their school or the link)."
        )
        self.fields["minutes"].min_value = 1
        self.fields["minutes"].widget.attrs["min"] = 1

    def clean_video_url(self):
        url = (self.cleaned_data.get("video_url") or "").strip()
        if url:
            video_url_validate(url)
        return url

    def clean_image(self):
        image = self.cleaned_data.get("image")
        # Only a new upload is re-encoded; an unchanged image is the already-cleaned stored file.
        if image and hasattr(image, "content_type"):
            return reencode_image(image)
        return image


class ExamForm(forms.Form):
    quiz = forms.ModelChoiceField(
        label=_("Final exam"),
        queryset=None,
        required=False,
        empty_label=_("— no final exam —"),
    )

    def __init__(self, *args, editor: User, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quiz"].queryset = _usable(editor, keep=current.pk if current else None)

"""The campaign form: regions and organisers limited to the editor's own region."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Term
from edu.images import reencode_image
from edu.models import User, grade_label
from edu.selectors import regions_for_user


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "title",
            "kind",
            "region",
            "starts_on",
            "ends_on",
            "description",
            "cover",
            "organisers",
            "is_published",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 6}),
            "organisers": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, editor: User, **kwargs):
        super().__init__(*args, **kwargs)
        regions = regions_for_user(user=editor)
        self.fields["region"].queryset = regions
        self.fields["organisers"].queryset = User.objects.filter(
            is_organiser=True, region__path__in=regions.values("path")
        ).order_by("username")
        self.fields["organisers"].label_from_instance = lambda user: (
            f"{user.get_full_name() or user.username}"
        )
        if not self.instance.pk and editor.region_id:
            # The instance's empty region would otherwise win over a field initial.
            self.initial["region"] = self.initial.get("region") or editor.region_id

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        # Only a new upload is re-encoded; an unchanged cover is the already-cleaned stored file.
        if cover and hasattr(cover, "content_type"):
            return reencode_image(cover)
        return cover

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The campaign cannot end before it starts."))
        return cleaned


class TermForm(forms.ModelForm):
    """A second-classroom term: the campaign's title, region and dates with the grades and targets."""

    grades = forms.TypedMultipleChoiceField(
        label=_("Grades"), coerce=int, widget=forms.CheckboxSelectMultiple, choices=()
    )
    target_registration_pct = forms.IntegerField(
        label=_("Registration target (%)"),
        min_value=0,
        max_value=100,
        initial=90,
        help_text=_("Share of the roster students of these grades who have set a password."),
    )
    target_participation_pct = forms.IntegerField(
        label=_("Participation target (%)"),
        min_value=0,
        max_value=100,
        initial=90,
        help_text=_("Share of the students who take part in the lessons and the final exam."),
    )
    pass_mark_pct = forms.IntegerField(
        label=_("Pass mark (%)"),
        min_value=0,
        max_value=100,
        initial=60,
        help_text=_("The final exam's pass mark, as a share of full marks."),
    )

    class Meta:
        model = Campaign
        fields = ["title", "region", "starts_on", "ends_on", "description", "is_published"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, editor: User, term: Term | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions_for_user(user=editor)
        self.fields["grades"].choices = [(grade, grade_label(grade)) for grade in range(1, 13)]
        if term is not None:
            self.initial.update(
                grades=[int(grade) for grade in term.grades],
                target_registration_pct=term.target_registration_pct,
                target_participation_pct=term.target_participation_pct,
                pass_mark_pct=term.pass_mark_pct,
            )
        elif not self.instance.pk:
            self.initial.setdefault("grades", list(range(1, 13)))
            if editor.region_id:
                self.initial["region"] = self.initial.get("region") or editor.region_id

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The term cannot end before it starts."))
        return cleaned

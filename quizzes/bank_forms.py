"""Forms of the question bank: one question (checked by the importer's own rules) and the import upload."""

from pathlib import PurePath

from django import forms
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from edu.images import reencode_image
from edu.tabular import DEFAULT_MAX_BYTES, SPREADSHEET_SUFFIXES, InvalidValue, split_list
from quizzes.importing import (
    AUDIENCES,
    LETTERS,
    MAX_OPTIONS,
    TAG_SEPARATORS,
    TEXT_SUFFIXES,
    TRUE_FALSE_OPTIONS,
    ParsedQuestion,
    consecutive_options,
    question_problems,
)
from quizzes.models import LANGUAGES, Audience, Category, Question, QuestionType

OPTION_ROWS = range(MAX_OPTIONS)
IMPORT_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES
DIFFICULTY_CHOICES = [
    (1, _("1 · easy")),
    (2, _("2 · fairly easy")),
    (3, _("3 · medium")),
    (4, _("4 · fairly hard")),
    (5, _("5 · hard")),
]


def _capitalised(choices) -> list[tuple[str, str]]:
    # capfirst keeps a lazy label lazy, so each request still sees its own language.
    return [(value, capfirst(label)) for value, label in choices]


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, category: Category) -> str:
        depth = category.path.count("/") - 1
        return f"{'— ' * depth}{category.display_name}"


class QuestionForm(forms.Form):
    """A question as its author sees it: up to eight options, each with a "correct" tick.

    Empty trailing option rows are ignored. The rules are the importer's (`question_problems`), so a
    question that saves here also imports and exports, and the other way round.
    """

    type = forms.ChoiceField(
        label=_("Type"), choices=_capitalised(QuestionType.choices), initial=QuestionType.SINGLE
    )
    stem = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    partial_credit = forms.BooleanField(
        label=_("Partial credit"),
        required=False,
        help_text=_("Multiple choice only: part of the mark for part of the answer."),
    )
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to students when they review their answers."),
    )
    difficulty = forms.TypedChoiceField(
        label=_("Difficulty"), choices=DIFFICULTY_CHOICES, coerce=int, initial=3
    )
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.order_by("path"))
    audience = forms.MultipleChoiceField(
        label=_("Audience"),
        choices=_capitalised(Audience.choices),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave every box empty for everyone."),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas: 新型毒品, 6·26")
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    source = forms.CharField(
        label=_("Source"),
        required=False,
        help_text=_("Where the facts come from: a law, a textbook, a website."),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=_capitalised(Question.Status.choices),
        initial=Question.Status.DRAFT,
        help_text=_("Ready questions are shared with all teachers and organisers; drafts stay with you."),
    )
    image = forms.FileField(
        label=_("Image"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
        help_text=_("Optional: a JPEG, PNG, WebP or GIF picture shown with the question."),
    )
    remove_image = forms.BooleanField(label=_("Remove the current image"), required=False)

    def __init__(self, *args, question: Question | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question
        self.duplicate: Question | None = None
        for index in OPTION_ROWS:
            letter = LETTERS[index]
            self.fields[f"option_{index}"] = forms.CharField(
                label=_("Option %(letter)s") % {"letter": letter}, required=False
            )
            self.fields[f"correct_{index}"] = forms.BooleanField(
                label=_("Option %(letter)s is correct") % {"letter": letter}, required=False
            )
        if question is None or not question.current_version.image:
            del self.fields["remove_image"]

    @property
    def option_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(LETTERS[i], self[f"option_{i}"], self[f"correct_{i}"]) for i in OPTION_ROWS]

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        return reencode_image(upload) if upload else None

    def clean(self):
        cleaned = super().clean()
        kind, stem, language = cleaned.get("type"), cleaned.get("stem"), cleaned.get("language")
        if not (kind and stem and language) or "difficulty" not in cleaned:
            return cleaned  # the missing field already has its error
        try:
            options = consecutive_options([cleaned.get(f"option_{i}", "") for i in OPTION_ROWS])
        except InvalidValue as exc:
            self.add_error(None, capfirst(str(exc)))
            return cleaned
        ticked = [i for i in OPTION_ROWS if cleaned.get(f"correct_{i}")]
        if kind == QuestionType.TRUE_FALSE and not options:
            options = TRUE_FALSE_OPTIONS[language]
        ticked_empty = [i for i in ticked if i >= len(options)]
        for index in ticked_empty:
            self.add_error(
                None, _("Option %(letter)s is marked correct but has no text.") % {"letter": LETTERS[index]}
            )
        parsed = ParsedQuestion(
            type=kind,
            stem=stem,
            options=options,
            correct=tuple(LETTERS[i] for i in ticked if i < len(options)),
            explanation=cleaned.get("explanation", ""),
            difficulty=cleaned["difficulty"],
            tags=tuple(dict.fromkeys(split_list(cleaned.get("tags", ""), TAG_SEPARATORS))),
            audience=tuple(code for code in AUDIENCES if code in cleaned.get("audience", ())),
            language=language,
            source=cleaned.get("source", ""),
        )
        # A tick on an empty row is reported above; counting the answers without it would only add noise.
        for problem in question_problems(parsed, check_answers=not ticked_empty):
            self.add_error(None, capfirst(problem))
        if self.errors:
            return cleaned
        duplicates = Question.objects.filter(fingerprint=parsed.fingerprint()).select_related(
            "current_version"
        )
        if self.question is not None:
            duplicates = duplicates.exclude(pk=self.question.pk)
        self.duplicate = duplicates.first()
        if self.duplicate is not None:
            self.add_error(
                None,
                _("The bank already has this question (question #%(id)s): same language, stem and options.")
                % {"id": self.duplicate.pk},
            )
            return cleaned
        cleaned["parsed"] = parsed
        cleaned["partial_credit"] = kind == QuestionType.MULTIPLE and cleaned.get("partial_credit", False)
        return cleaned

    def image_change(self):
        """The service's `image`: a new file, "" to remove the current one, None to keep it."""
        if self.cleaned_data.get("image"):
            return self.cleaned_data["image"]
        if self.cleaned_data.get("remove_image"):
            return ""
        return None


def question_initial(question: Question) -> dict:
    """The form's starting values for editing a question's current version."""
    version = question.current_version
    initial = {
        "type": version.type,
        "stem": version.stem,
        "partial_credit": version.partial_credit,
        "explanation": version.explanation,
        "difficulty": question.difficulty,
        "category": question.category_id,
        "audience": question.audience_list,
        "tags": ", ".join(question.tag_list),
        "language": question.language,
        "source": version.source,
        "status": question.status,
    }
    for index, option in enumerate(version.options):
        initial[f"option_{index}"] = option
        initial[f"correct_{index}"] = index in version.correct
    return initial


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Question file"),
        widget=forms.FileInput(attrs={"accept": ",".join(sorted(IMPORT_SUFFIXES))}),
        help_text=lazy(
            lambda: (
                _(
                    "A spreadsheet (.xlsx or .csv, one question per row, as in the template) or a text "
                    "file in GIFT or Aiken format (.gift, .aiken, .txt). At most %(size)s MB."
                )
                % {"size": DEFAULT_MAX_BYTES // (1024 * 1024)}
            ),
            str,
        )(),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = PurePath(upload.name or "").suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            raise forms.ValidationError(
                _("“%(name)s” is not a question file: upload a .xlsx, .csv, .gift, .aiken or .txt file."),
                params={"name": upload.name},
            )
        if upload.size > DEFAULT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB: split it into smaller files."),
                params={"size": DEFAULT_MAX_BYTES // (1024 * 1024)},
            )
        return upload


class ImportConfirmForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Import the questions as"),
        choices=[
            (Question.Status.READY, _("ready: shared with all teachers and organisers")),
            (Question.Status.DRAFT, _("drafts: only you and your school or region see them")),
        ],
        initial=Question.Status.READY,
        widget=forms.RadioSelect,
    )

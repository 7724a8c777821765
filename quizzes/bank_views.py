"""The question bank's pages: list, detail, create and edit, import with a preview, export and template."""

import logging
from datetime import timedelta
from functools import wraps
from pathlib import PurePath
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from edu.tabular import write_csv, write_xlsx
from edu.uploads import PendingUploads
from quizzes.bank_forms import ImportConfirmForm, ImportUploadForm, QuestionForm, question_initial
from quizzes.bank_selectors import (
    BankFilters,
    bank_duplicates,
    bank_questions_filtered,
    categories_primed,
    category_choices,
    category_trail,
    flag_explanation,
    flag_label,
    question_item_stats,
    version_item_summaries,
)
from quizzes.importing import (
    LETTERS,
    TEXT_SUFFIXES,
    TRUE_FALSE_OPTIONS,
    ImportResult,
    RowError,
    export_rows,
    parse_file,
    template_rows,
)
from quizzes.item_stats import DEFAULT_FLAG_RULES
from quizzes.models import LANGUAGES, Audience, Question, QuestionType
from quizzes.selectors import (
    bank_questions_for_user,
    can_edit_question,
    is_bank_staff,
    question_for_editor,
    question_for_viewer,
)
from quizzes.services import parsed_from_question, question_create, question_update, questions_import

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
PREVIEW_SIZE = 50
# Uploaded files wait here, under a random name the uploader's session holds, until confirmed or discarded.
# One person previews one file at a time, maybe a few in tabs: older uploads are dropped.
IMPORT_UPLOADS = PendingUploads(
    folder="imports", session_key="bank_imports", max_pending=5, max_age=timedelta(days=1)
)
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def bank_staff_required(view):
    """Guests go to the sign-in page; signed-in people who keep no bank (students, volunteers) get 403."""

    @wraps(view)
    @login_required
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_bank_staff(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


def _language() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


# --- list and detail ------------------------------------------------------------------------------------


@require_GET
@bank_staff_required
def bank_list(request: HttpRequest) -> HttpResponse:
    filters = BankFilters.from_params(request.GET)
    questions = (
        bank_questions_filtered(user=request.user, filters=filters)
        .select_related("current_version", "category")
        .order_by("-updated_at", "-pk")
    )
    page = Paginator(questions, PAGE_SIZE).get_page(request.GET.get("page"))
    summaries = version_item_summaries(version_ids=[question.current_version_id for question in page])
    for question in page:
        summary = summaries.get(question.current_version_id)
        question.item_problems = [flag_label(flag) for flag in summary.problems] if summary else []
    query = urlencode(filters.as_params())
    return render(
        request,
        "quizzes/bank/list.html",
        {
            "page": page,
            "filters": filters,
            "filter_query": query,
            "categories": [
                (category.pk, f"{'— ' * depth}{category}") for category, depth in category_choices()
            ],
            "languages": LANGUAGES,
            "statuses": Question.Status.choices,
            "difficulties": range(1, 6),
            "audiences": Audience.choices,
            "types": QuestionType.choices,
        },
    )


@require_GET
@bank_staff_required
def bank_question_detail(request: HttpRequest, pk: int) -> HttpResponse:
    question = question_for_viewer(user=request.user, pk=pk)
    version = question.current_version
    translations = list(
        bank_questions_for_user(user=request.user)
        .filter(translation_group=question.translation_group)
        .exclude(pk=question.pk)
        .select_related("current_version")
        .order_by("language", "pk")
    )
    have = {question.language, *(other.language for other in translations)}
    history = []
    for each, stats in reversed(question_item_stats(question=question)):
        history.append(
            {
                "version": each,
                "is_current": each.pk == version.pk,
                "stats": stats,
                "options": _option_rows(each, stats),
                "flags": [(flag.value, flag_explanation(flag)) for flag in stats.flags]
                if stats.responses
                else [],
            }
        )
    return render(
        request,
        "quizzes/bank/detail.html",
        {
            "question": question,
            "version": version,
            "options": _option_rows(version, None),
            "category_trail": category_trail(category=question.category),
            "audience_labels": [
                Audience(code).label for code in question.audience_list if code in Audience.values
            ],
            "translations": translations,
            "missing_languages": [(code, name) for code, name in LANGUAGES if code not in have],
            "history": history,
            "can_edit": can_edit_question(user=request.user, question=question),
            "rules": DEFAULT_FLAG_RULES,
        },
    )


def _option_rows(version, stats) -> list[dict]:
    rows = []
    for index, text in enumerate(version.options):
        row = {"letter": LETTERS[index], "text": text, "correct": index in version.correct}
        if stats is not None:
            share = stats.option_shares[index] if index < len(stats.option_shares) else 0.0
            row["count"] = stats.option_counts[index] if index < len(stats.option_counts) else 0
            row["percent"] = round(100 * share)
        rows.append(row)
    return rows


# --- create and edit ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@bank_staff_required
def bank_question_create(request: HttpRequest) -> HttpResponse:
    """A new question; with ?translation_of=<pk>, a translation of a question the user can see."""
    original = None
    original_id = request.GET.get("translation_of", "")
    if original_id.isdecimal():
        original = question_for_viewer(user=request.user, pk=int(original_id))
    initial = {"language": _language()}
    if original is not None:
        initial.update(_translation_initial(original))
    form = QuestionForm(*_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            question = question_create(
                parsed=data["parsed"],
                category=data["category"],
                user=request.user,
                status=data["status"],
                translation_group=original.translation_group if original is not None else None,
                partial_credit=data["partial_credit"],
                image=data["image"],
            )
        except IntegrityError:
            form.add_error(
                None, _("Someone saved the same question a moment ago: it is already in the bank.")
            )
        else:
            messages.success(request, _("Question created."))
            return redirect("bank_question_detail", pk=question.pk)
    return _form_page(request, form, question=None, original=original)


def _translation_initial(original: Question) -> dict:
    """A translation keeps the answer's shape and the question's place in the bank; the text is new."""
    version = original.current_version
    other = next((code for code, _name in LANGUAGES if code != original.language), original.language)
    initial = {
        "type": version.type,
        "partial_credit": version.partial_credit,
        "difficulty": original.difficulty,
        "category": original.category_id,
        "audience": original.audience_list,
        "language": other,
        "status": original.status,
    }
    for index in version.correct:
        initial[f"correct_{index}"] = True
    return initial


@require_http_methods(["GET", "POST"])
@bank_staff_required
def bank_question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    question = question_for_editor(user=request.user, pk=pk)
    form = QuestionForm(*_posted(request), initial=question_initial(question), question=question)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        before = question.current_version
        try:
            question = question_update(
                question=question,
                parsed=data["parsed"],
                category=data["category"],
                status=data["status"],
                user=request.user,
                partial_credit=data["partial_credit"],
                image=form.image_change(),
            )
        except IntegrityError:
            form.add_error(
                None, _("Someone saved the same question a moment ago: it is already in the bank.")
            )
        else:
            if question.current_version_id != before.pk:
                messages.success(
                    request,
                    _(
                        "Saved as version %(number)s. Version %(previous)s has been answered in quizzes, "
                        "so it stays as it was for their results."
                    )
                    % {"number": question.current_version.number, "previous": before.number},
                )
            else:
                messages.success(request, _("Question saved."))
            return redirect("bank_question_detail", pk=question.pk)
    return _form_page(request, form, question=question, original=None)


def _form_page(
    request: HttpRequest, form: QuestionForm, *, question: Question | None, original: Question | None
):
    return render(
        request,
        "quizzes/bank/form.html",
        {
            "form": form,
            "question": question,
            "original": original,
            "answered": question is not None and question.current_version.attempt_items.exists(),
            "true_false_options": TRUE_FALSE_OPTIONS,
        },
    )


# --- import ---------------------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> tuple:
    """A form's data and files on POST (even an empty POST is a submission), nothing on GET."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("x-requested-with") == "XMLHttpRequest"


@require_http_methods(["GET", "POST"])
@bank_staff_required
def bank_import(request: HttpRequest) -> HttpResponse:
    """Upload a file; it is kept under a random name tied to this session and previewed before import.

    The page's script posts the same form with XMLHttpRequest to show upload progress and gets JSON back;
    without the script it is a plain form and a redirect.
    """
    form = ImportUploadForm(*_posted(request))
    if request.method == "POST":
        if form.is_valid():
            token = IMPORT_UPLOADS.keep(request, form.cleaned_data["file"])
            url = reverse("bank_import_preview", args=[token])
            return JsonResponse({"redirect": url}) if _wants_json(request) else redirect(url)
        if _wants_json(request):
            errors = [str(message) for messages_ in form.errors.values() for message in messages_]
            return JsonResponse({"errors": errors}, status=400)
    return render(request, "quizzes/bank/import.html", {"upload": form, "template_language": _language()})


@require_http_methods(["GET", "POST"])
@bank_staff_required
def bank_import_preview(request: HttpRequest, token: str) -> HttpResponse:
    """What the file holds — or every problem in it — then import on confirmation, all or nothing."""
    pending = IMPORT_UPLOADS.get(request, token)
    if request.method == "POST" and "discard" in request.POST:
        IMPORT_UPLOADS.forget(request, token)
        messages.info(request, _("The file was discarded; nothing was imported."))
        return redirect("bank_import")
    result = _import_parse(pending)
    unit = "line" if PurePath(pending["name"]).suffix.lower() in TEXT_SUFFIXES else "row"
    errors = result.errors or bank_duplicates(questions=result.questions, unit=unit)
    confirm = ImportConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not errors and confirm.is_valid():
        report = questions_import(
            questions=result.questions, user=request.user, status=confirm.cleaned_data["status"], unit=unit
        )
        if report.errors:
            errors = report.errors
        else:
            IMPORT_UPLOADS.forget(request, token)
            messages.success(
                request,
                ngettext("%(count)s question imported.", "%(count)s questions imported.", report.imported)
                % {"count": report.imported},
            )
            return redirect("bank_list")
    return render(
        request,
        "quizzes/bank/import_preview.html",
        {
            "name": pending["name"],
            "token": token,
            "count": len(result.questions),
            "preview": [_preview_row(question) for question in result.questions[:PREVIEW_SIZE]],
            "more": max(0, len(result.questions) - PREVIEW_SIZE),
            "errors": [str(error) for error in errors],
            "confirm": confirm,
            "upload": ImportUploadForm(),
        },
        status=200,
    )


def _preview_row(question) -> dict:
    return {
        "row": question.row,
        "type": QuestionType(question.type).label,
        "stem": question.stem,
        "options": [
            {"letter": letter, "text": text, "correct": letter in question.correct}
            for letter, text in zip(LETTERS, question.options, strict=False)
        ],
        "category": " / ".join(question.category),
        "difficulty": question.difficulty,
        "language": dict(LANGUAGES).get(question.language, question.language),
        "language_code": question.language,
        "audience": [Audience(code).label for code in question.audience],
        "explanation": question.explanation,
    }


def _import_parse(pending: dict) -> ImportResult:
    try:
        data = IMPORT_UPLOADS.read(pending)
        return parse_file(data, pending["name"], default_language=_language())
    except Exception:
        # The parsers report every problem they know of; anything else is a file they never expected.
        logger.exception("Question file %s could not be parsed", pending["path"])
        return ImportResult(
            errors=[
                RowError(None, _("The file could not be read: save it again as .xlsx or .csv and upload it."))
            ]
        )


# --- export and template --------------------------------------------------------------------------------


def _spreadsheet(header, rows, *, file_format: str, filename: str) -> HttpResponse:
    data = (
        write_xlsx(header, rows, sheet_title="questions")
        if file_format == "xlsx"
        else write_csv(header, rows)
    )
    response = HttpResponse(data, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_GET
@bank_staff_required
def bank_export(request: HttpRequest) -> HttpResponse:
    """The filtered bank as the wide spreadsheet, which imports again unchanged."""
    file_format = request.GET.get("format", "xlsx")
    if file_format not in CONTENT_TYPES:
        return HttpResponseBadRequest(_("Choose the format xlsx or csv."))
    filters = BankFilters.from_params(request.GET)
    questions = list(
        bank_questions_filtered(user=request.user, filters=filters)
        .select_related("current_version")
        .order_by("category_path", "pk")
    )
    categories_primed(questions)
    header, rows = export_rows(parsed_from_question(question) for question in questions)
    stamp = timezone.localdate().strftime("%Y%m%d")
    return _spreadsheet(
        header, rows, file_format=file_format, filename=f"qingkong-questions-{stamp}.{file_format}"
    )


@require_GET
@bank_staff_required
def bank_template(request: HttpRequest) -> HttpResponse:
    """An empty-but-for-examples file to fill in; headers in Chinese or English."""
    file_format = request.GET.get("format", "xlsx")
    language = request.GET.get("language") or _language()
    if file_format not in CONTENT_TYPES or language not in dict(LANGUAGES):
        return HttpResponseBadRequest(_("Choose the format xlsx or csv and the language zh-hans or en."))
    header, rows = template_rows(language=language)
    return _spreadsheet(
        header, rows, file_format=file_format, filename=f"qingkong-question-template-{language}.{file_format}"
    )

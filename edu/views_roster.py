"""Roster pages: upload with a preview, the template, claim slips and the claim page, a student's move,
consent, export and deletion, class teachers, the school's consent rule and the year-end promotion."""

import contextlib
import io
import json
import logging
import unicodedata
from datetime import timedelta

import qrcode
import qrcode.image.svg
from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from edu import rosters, selectors
from edu.forms_roster import ClaimForm, ClassTeachersForm, ConsentRuleForm, RosterUploadForm, StudentMoveForm
from edu.roster_parsing import RosterResult, parse_roster
from edu.tabular import RowError, write_csv, write_xlsx
from edu.uploads import PendingUploads

logger = logging.getLogger(__name__)

PREVIEW_SIZE = 100
# Uploaded rosters (names of minors) wait here, under a random name the uploader's session holds, only until
# they are confirmed or discarded; forgotten ones are removed after a few hours.
ROSTER_UPLOADS = PendingUploads(
    folder="rosters", session_key="roster_uploads", max_pending=3, max_age=timedelta(hours=6)
)
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
TEMPLATE_HEADERS = {
    "zh-hans": ["姓名", "学号", "年级", "班级", "性别", "出生日期"],
    "en": ["Name", "Student number", "Grade", "Class", "Gender", "Date of birth"],
}
TEMPLATE_EXAMPLES = {
    "zh-hans": [
        ["张小明", "2025070301", "七年级", "3班", "男", "2013-03-05"],
        ["李思雨", "2025070302", "七年级", "3班", "女", "2013-09-18"],
    ],
    "en": [
        ["Zhang Xiaoming", "2025070301", "Grade 7", "Class 3", "M", "2013-03-05"],
        ["Li Siyu", "2025070302", "Grade 7", "Class 3", "F", "2013-09-18"],
    ],
}
# The claim page is a password-setting form reachable without signing in: attempts are counted in the cache
# (Redis in production, shared by every worker) per IP address and per username, like allauth's sign-in.
# A whole class may claim from one school IP at once, so the IP limit is generous; wrong codes for one
# username are few.
CLAIM_LIMITS = {"ip": (100, 10 * 60), "username": (5, 15 * 60)}


def _posted(request: HttpRequest) -> tuple:
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def _language() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


# --- the roster page and its upload ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def school_roster(request: HttpRequest, code: str) -> HttpResponse:
    school = selectors.school_for_user(user=request.user, code=code, manage=True)
    upload = RosterUploadForm(*_posted(request))
    if request.method == "POST" and upload.is_valid():
        token = ROSTER_UPLOADS.keep(request, upload.cleaned_data["file"], school=school.pk)
        return redirect("school_roster_preview", code=school.code, token=token)
    return render(
        request,
        "edu/roster.html",
        {
            "school": school,
            "upload": upload,
            "classes": list(selectors.classes_with_roster_counts(school=school)),
            "counts": selectors.school_roster_counts(school=school),
            "consent_form": ConsentRuleForm(
                initial={"requires_guardian_consent": school.requires_guardian_consent}
            ),
            "template_language": _language(),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def school_roster_preview(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """What the file would change — or every problem in it — then the import on confirmation, all or none."""
    school = selectors.school_for_user(user=request.user, code=code, manage=True)
    try:
        pending = ROSTER_UPLOADS.get(request, token, school=school.pk)
    except Http404:
        if request.method != "POST":
            raise
        # A double click on "Import" or "Discard", or the back button and a second click: the first one took
        # the file; say so on the roster page rather than "page not found".
        messages.info(request, _("This file has already been imported or discarded."))
        return redirect("school_roster", code=school.code)
    if request.method == "POST" and "discard" in request.POST:
        ROSTER_UPLOADS.forget(request, token)
        messages.info(request, pgettext("roster", "The file was discarded; nothing was imported."))
        return redirect("school_roster", code=school.code)
    parsed = _upload_parse(pending)
    now = timezone.now()
    result = rosters.RosterImportResult(dry_run=True)
    if parsed.students:
        result = rosters.roster_import(
            school=school, students=parsed.students, by=request.user, now=now, dry_run=True
        )
    errors = _sorted_errors([*parsed.errors, *result.errors])
    if request.method == "POST" and "confirm" in request.POST and not errors and parsed.students:
        imported = rosters.roster_import(school=school, students=parsed.students, by=request.user, now=now)
        if imported.ok:
            ROSTER_UPLOADS.forget(request, token)
            messages.success(request, _import_summary(imported))
            return redirect("school_roster", code=school.code)
        errors = _sorted_errors(imported.errors)
    return render(
        request,
        "edu/roster_preview.html",
        {
            "school": school,
            "name": pending["name"],
            "errors": [str(error) for error in errors],
            "result": result,
            "created": result.created[:PREVIEW_SIZE],
            "created_more": max(0, len(result.created) - PREVIEW_SIZE),
            "updated": result.updated[:PREVIEW_SIZE],
            "moved": result.moved,
            "upload": RosterUploadForm(),
        },
    )


def _sorted_errors(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda error: (error.row is not None, error.row or 0))


def _import_summary(result: rosters.RosterImportResult) -> str:
    if not result.changes:
        return _("The roster already matched the file: nothing changed.")
    return _(
        "Roster imported: %(created)s new, %(moved)s moved, %(updated)s corrected, %(unchanged)s unchanged; "
        "%(classes)s new classes."
    ) % {
        "created": len(result.created),
        "moved": len(result.moved),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
        "classes": len(result.new_classes),
    }


def _upload_parse(pending: dict) -> RosterResult:
    try:
        data = ROSTER_UPLOADS.read(pending)
        return parse_roster(
            data, pending["name"], today=timezone.localdate(), max_rows=rosters.ROSTER_MAX_ROWS
        )
    except Exception:
        # The parser reports every problem it knows of; anything else is a file it never expected.
        logger.exception("Roster file %s could not be parsed", pending["path"])
        return RosterResult(
            errors=[
                RowError(None, _("The file could not be read: save it again as .xlsx or .csv and upload it."))
            ]
        )


def _spreadsheet(header, rows, *, file_format: str, filename: str, sheet_title: str) -> HttpResponse:
    data = (
        write_xlsx(header, rows, sheet_title=sheet_title)
        if file_format == "xlsx"
        else write_csv(header, rows)
    )
    response = HttpResponse(data, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_GET
def school_roster_template(request: HttpRequest, code: str) -> HttpResponse:
    """The roster template, with two example rows; headers in Chinese or English."""
    selectors.school_for_user(user=request.user, code=code, manage=True)
    file_format = request.GET.get("format", "xlsx")
    language = request.GET.get("language") or _language()
    if file_format not in CONTENT_TYPES or language not in TEMPLATE_HEADERS:
        return HttpResponseBadRequest(_("Choose the format xlsx or csv and the language zh-hans or en."))
    return _spreadsheet(
        TEMPLATE_HEADERS[language],
        TEMPLATE_EXAMPLES[language],
        file_format=file_format,
        filename=f"qingkong-roster-template-{language}.{file_format}",
        sheet_title="roster",
    )


@login_required
@require_POST
def school_consent_rule(request: HttpRequest, code: str) -> HttpResponse:
    school = selectors.school_for_user(user=request.user, code=code, manage=True)
    form = ConsentRuleForm(request.POST)
    form.is_valid()  # a lone optional checkbox is always valid
    required = form.cleaned_data.get("requires_guardian_consent", False)
    rosters.school_guardian_consent_require(school=school, required=required, by=request.user)
    messages.success(
        request,
        _("Students now need a guardian's consent before they use their account.")
        if required
        else _("Students no longer need a recorded guardian's consent."),
    )
    return redirect("school_roster", code=school.code)


# --- promotion ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def school_promote(request: HttpRequest, code: str) -> HttpResponse:
    school = selectors.school_for_user(user=request.user, code=code, manage=True)
    if request.method == "POST":
        try:
            result = rosters.school_promote(school=school, by=request.user, now=timezone.now())
        except rosters.RosterError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Every class moved up a grade: %(classes)s classes; %(students)s students graduated.")
                % {"classes": result.promoted_classes, "students": result.graduated_students},
            )
        return redirect("school_detail", code=school.code)
    return render(
        request,
        "edu/school_promote.html",
        {"school": school, "plan": selectors.school_promotion_plan(school=school)},
    )


# --- claim slips and the claim page ------------------------------------------------------------------------


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=1)
    out = io.BytesIO()
    image.save(out)
    # Made here from our own URL and a generated username, so it is safe to inline.
    return mark_safe(out.getvalue().decode())  # noqa: S308


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def class_claim_slips(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what printing will do. POST: new codes and the printable slips — shown once, never stored."""
    school_class = selectors.class_for_user(user=request.user, pk=pk, manage=True)
    if request.method == "GET":
        roster = list(selectors.class_roster(school_class=school_class).filter(graduated_on__isnull=True))
        waiting = [student for student in roster if student.claimed_at is None]
        return render(
            request,
            "edu/claim_slips_confirm.html",
            {
                "school_class": school_class,
                "roster": len(roster),
                "unclaimed": selectors.claim_slip_students(school_class=school_class),
                "waiting_consent": [
                    student
                    for student in waiting
                    if school_class.school.requires_guardian_consent and student.guardian_consent_at is None
                ],
            },
        )
    try:
        only = [int(value) for value in request.POST.getlist("student")] or None
    except ValueError:
        return HttpResponseBadRequest(_("Choose students from the class."))
    if only and not all(0 < value < 2**63 for value in only):  # beyond 64 bits SQLite raises OverflowError
        return HttpResponseBadRequest(_("Choose students from the class."))
    students = selectors.claim_slip_students(school_class=school_class, only=only)
    if not students:
        messages.info(request, _("No student of this class needs a claim slip."))
        return redirect("class_detail", pk=school_class.pk)
    issued = rosters.claim_codes_issue(students=students, by=request.user, now=timezone.now())
    claim_url = request.build_absolute_uri(reverse("account_claim"))
    slips = [
        {
            "name": student.real_name,
            "username": student.user.username,
            "code": rosters.claim_code_display(code),
            "qr": _qr_svg(f"{claim_url}?{urlencode({'u': student.user.username})}"),
        }
        for student, code in issued
    ]
    # never_cache marks the page no-store: the codes are in no cache and in no browser history.
    return render(
        request,
        "edu/claim_slips.html",
        {"school_class": school_class, "slips": slips, "claim_url": claim_url},
    )


def _client_ip(request: HttpRequest) -> str:
    try:
        return get_adapter().get_client_ip(request)
    except PermissionDenied:
        return request.META.get("REMOTE_ADDR", "")


def _limit_key(kind: str, value: str) -> str:
    return f"claim-limit:{kind}:{value}"


def _take(kind: str, value: str) -> bool:
    """Count one attempt before it is made and say whether it is within the limit. Counting only after the
    (slow, hashed) check let a burst of parallel attempts all pass the check; cache.add and incr are atomic,
    so every attempt in flight sees the others. The window starts at the first attempt."""
    limit, window = CLAIM_LIMITS[kind]
    key = _limit_key(kind, value)
    if cache.add(key, 1, window):
        return limit >= 1
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        return True


def _give_back(kind: str, value: str) -> None:
    """Only wrong codes use up a username's attempts: one that got past the code (a weak password, a code
    already used, consent missing) is handed back."""
    with contextlib.suppress(ValueError):  # the window ran out meanwhile: nothing to give back
        cache.decr(_limit_key(kind, value))


@sensitive_post_parameters("claim_code", "password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest) -> HttpResponse:
    """A student sets the password of the account the school made, with the code on their slip."""
    form = ClaimForm(request.POST or None, initial={"username": request.GET.get("u", "")[:150]})
    status = 200
    if request.method == "POST":
        ip = _client_ip(request)
        # Folded the way a database's case-insensitive match may fold it (PostgreSQL's UPPER('ſ') is 'S'), so
        # that no spelling of a username gets a fresh count of attempts.
        username = unicodedata.normalize("NFKC", request.POST.get("username", "")).strip().casefold()[:150]
        valid = form.is_valid()
        if not _take("ip", ip) or (valid and not _take("username", username)):
            form.add_error(None, _("Too many attempts. Wait a quarter of an hour and try again."))
            status = 429
        else:
            if valid:
                try:
                    user = rosters.student_claim(
                        username=form.cleaned_data["username"],
                        claim_code=form.cleaned_data["claim_code"],
                        password=form.cleaned_data["password1"],
                        now=timezone.now(),
                    )
                except rosters.ClaimRefused as exc:
                    if exc.reason != rosters.ClaimRefused.WRONG:
                        _give_back("username", username)
                    form.add_error(None, exc.message)
                except ValidationError as exc:
                    _give_back("username", username)
                    form.add_error("password1", exc)
                else:
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    messages.success(
                        request,
                        _("Your account is ready. Remember your username: %(username)s")
                        % {"username": user.username},
                    )
                    return redirect("home")
            status = 400
    return render(request, "edu/claim.html", {"form": form}, status=status)


# --- a student: move, consent, export, delete --------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def student_move(request: HttpRequest, pk: int) -> HttpResponse:
    student = selectors.student_for_user(user=request.user, pk=pk, manage=True)
    current = student.user.school_class
    form = StudentMoveForm(request.POST or None, school=student.school, current=current)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["school_class"]
        try:
            rosters.student_move(student=student, school_class=target, by=request.user, now=timezone.now())
        except rosters.RosterError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(name)s moved to %(klass)s.") % {"name": student.real_name, "klass": target.label},
            )
            return redirect("class_detail", pk=current.pk if current else target.pk)
    return render(request, "edu/student_move.html", {"student": student, "form": form, "current": current})


@login_required
@require_POST
def student_consent(request: HttpRequest, pk: int) -> HttpResponse:
    student = selectors.student_for_user(user=request.user, pk=pk)
    rosters.guardian_consent_record(student=student, by=request.user, now=timezone.now())
    messages.success(request, _("Guardian consent recorded for %(name)s.") % {"name": student.real_name})
    klass = student.user.school_class
    return (
        redirect("class_detail", pk=klass.pk)
        if klass
        else redirect("school_detail", code=student.school.code)
    )


@login_required
@require_GET
def student_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The student's personal data, as JSON or as a two-column workbook, for the student or their guardian."""
    student = selectors.student_for_user(user=request.user, pk=pk, manage=True)
    file_format = request.GET.get("format", "json")
    if file_format not in ("json", "xlsx"):
        return HttpResponseBadRequest(_("Choose the format json or xlsx."))
    data = rosters.student_personal_data(student=student)
    filename = f"qingkong-student-{student.student_number}.{file_format}"
    logger.info("Personal data of roster student %s exported by %s", student.pk, request.user.username)
    if file_format == "json":
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        rows = [
            [section, key, "" if value is None else str(value)]
            for section, values in data.items()
            for key, value in _flat(values)
        ]
        response = _spreadsheet(
            [_("Section"), _("Field"), _("Value")],
            rows,
            file_format="xlsx",
            filename=filename,
            sheet_title="data",
        )
    response["Cache-Control"] = "no-store"
    return response


def _flat(values: dict | list[dict]) -> list[tuple[str, object]]:
    """A section as (field, value) rows: a list of records numbers its fields ("1 quiz", "1 score")."""
    if isinstance(values, dict):
        return list(values.items())
    return [
        (f"{index} {key}", value) for index, item in enumerate(values, start=1) for key, value in item.items()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def student_delete(request: HttpRequest, pk: int) -> HttpResponse:
    student = selectors.student_for_user(user=request.user, pk=pk, manage=True)
    klass = student.user.school_class
    if request.method == "POST":
        name = student.real_name
        rosters.student_delete(student=student, by=request.user, now=timezone.now())
        messages.success(request, _("The personal data of %(name)s was deleted.") % {"name": name})
        if klass is not None:
            return redirect("class_detail", pk=klass.pk)
        return redirect("school_roster", code=student.school.code)
    return render(request, "edu/student_delete.html", {"student": student, "school_class": klass})


# --- class teachers ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def class_teachers(request: HttpRequest, pk: int) -> HttpResponse:
    school_class = selectors.class_for_user(user=request.user, pk=pk, manage=True)
    if not selectors.can_manage_school(user=request.user, school=school_class.school):
        raise PermissionDenied
    form = ClassTeachersForm(
        request.POST or None,
        school=school_class.school,
        initial={"teachers": list(school_class.teachers.values_list("pk", flat=True))},
    )
    if request.method == "POST" and form.is_valid():
        try:
            rosters.class_teachers_set(
                school_class=school_class, teachers=form.cleaned_data["teachers"], by=request.user
            )
        except rosters.RosterError as exc:
            form.add_error("teachers", str(exc))
        else:
            messages.success(request, _("The class teachers were saved."))
            return redirect("class_detail", pk=school_class.pk)
    return render(request, "edu/class_teachers.html", {"school_class": school_class, "form": form})

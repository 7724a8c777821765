"""Second-classroom lesson pages: a lesson for its students, and the term content pages for organisers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import lessons
from campaigns.forms_lessons import ExamForm, LessonForm
from campaigns.models import Lesson, TermExam
from edu.models import grade_label
from quizzes.models import Attempt


@login_required
def lesson_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = lessons.lesson_for_viewer(user=request.user, pk=pk)
    lesson = access.lesson
    quiz_submitted = bool(
        access.as_student
        and lesson.quiz_id
        and Attempt.objects.filter(
            quiz_id=lesson.quiz_id, user=request.user, submitted_at__isnull=False
        ).exists()
    )
    return render(
        request,
        "campaigns/lessons/lesson_detail.html",
        {
            "lesson": lesson,
            "term": lesson.term,
            "campaign": lesson.term.campaign,
            "access": access,
            "quiz_submitted": quiz_submitted,
            "grade_label": grade_label(lesson.grade),
            "video_embed": lessons.video_embed_url(lesson.video_url) if lesson.video_url else None,
        },
    )


@login_required
@require_POST
def lesson_complete(request: HttpRequest, pk: int) -> HttpResponse:
    access = lessons.lesson_for_viewer(user=request.user, pk=pk)
    if not access.as_student:
        raise Http404("No such lesson.")
    try:
        lessons.lesson_complete(lesson=access.lesson, user=request.user, now=timezone.now())
    except lessons.LessonError as error:
        messages.error(request, str(error))
        return redirect("lesson_detail", pk=pk)
    messages.success(request, _("Lesson done."))
    return redirect("home")


@login_required
def term_content(request: HttpRequest, pk: int) -> HttpResponse:
    term = lessons.term_for_content_editor(user=request.user, pk=pk)
    by_grade = {grade: [] for grade in sorted(int(g) for g in term.grades)}
    for lesson in Lesson.objects.filter(term=term).select_related("quiz").order_by("grade", "position"):
        by_grade.setdefault(lesson.grade, []).append(lesson)
    exams = {exam.grade: exam for exam in TermExam.objects.filter(term=term).select_related("quiz")}
    grades = [
        {
            "grade": grade,
            "label": grade_label(grade),
            "lessons": items,
            "minutes": sum(item.minutes for item in items),
            "exam": exams.get(grade),
            "exam_form": ExamForm(
                editor=request.user,
                current=exams[grade].quiz if grade in exams else None,
                initial={"quiz": exams[grade].quiz_id if grade in exams else None},
                prefix=f"g{grade}",
            ),
        }
        for grade, items in by_grade.items()
    ]
    return render(
        request,
        "campaigns/lessons/term_content.html",
        {"term": term, "campaign": term.campaign, "grades": grades},
    )


def _grade_of(request: HttpRequest, term) -> int:
    try:
        grade = int(request.GET.get("grade") or request.POST.get("grade") or "")
    except ValueError:
        raise Http404("No such grade.") from None
    if grade not in term.grades:
        raise Http404("No such grade.")
    return grade


@login_required
def lesson_create(request: HttpRequest, pk: int) -> HttpResponse:
    term = lessons.term_for_content_editor(user=request.user, pk=pk)
    lesson = Lesson(term=term, grade=_grade_of(request, term))
    return _lesson_form(request, lesson)


@login_required
def lesson_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _lesson_form(request, lessons.lesson_for_editor(user=request.user, pk=pk))


def _lesson_form(request: HttpRequest, lesson: Lesson) -> HttpResponse:
    form = LessonForm(request.POST or None, request.FILES or None, instance=lesson, editor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lessons.lesson_save(lesson=form.save(commit=False), by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Lesson saved."))
            return redirect("term_content", pk=lesson.term.campaign_id)
    return render(
        request,
        "campaigns/lessons/lesson_form.html",
        {
            "form": form,
            "lesson": lesson,
            "term": lesson.term,
            "campaign": lesson.term.campaign,
            "grade_label": grade_label(lesson.grade),
        },
    )


@login_required
@require_POST
def lesson_move(request: HttpRequest, pk: int) -> HttpResponse:
    lesson = lessons.lesson_for_editor(user=request.user, pk=pk)
    lessons.lesson_move(lesson=lesson, up=request.POST.get("direction") == "up", by=request.user)
    return redirect(f"{reverse('term_content', args=[lesson.term.campaign_id])}#grade-{lesson.grade}")


@login_required
@require_POST
def lesson_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lesson = lessons.lesson_for_editor(user=request.user, pk=pk)
    campaign_id = lesson.term.campaign_id
    lessons.lesson_delete(lesson=lesson, by=request.user)
    messages.success(request, _("Lesson deleted."))
    return redirect("term_content", pk=campaign_id)


@login_required
@require_POST
def exam_set(request: HttpRequest, pk: int, grade: int) -> HttpResponse:
    term = lessons.term_for_content_editor(user=request.user, pk=pk)
    if grade not in term.grades:
        raise Http404("No such grade.")
    current = TermExam.objects.filter(term=term, grade=grade).select_related("quiz").first()
    form = ExamForm(
        request.POST, editor=request.user, current=current.quiz if current else None, prefix=f"g{grade}"
    )
    if not form.is_valid():
        messages.error(request, _("Choose one of the quizzes in the list."))
    else:
        lessons.exam_set(term=term, grade=grade, quiz=form.cleaned_data["quiz"], by=request.user)
        messages.success(request, _("Final exam saved."))
    return redirect("term_content", pk=pk)

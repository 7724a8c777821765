"""Lessons, final exams and per-student progress in a second-classroom term: the gates, reads and writes.

StudentProgress is written in the same transaction as the event that changes it (a lesson completed, an exam
attempt submitted, an account claimed, a class move); the school's rollup (campaigns.figures, kept by the
figures side) is refreshed after the commit.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import (
    Enrollment,
    Lesson,
    LessonCompletion,
    StudentProgress,
    Term,
    TermExam,
)
from campaigns.selectors import can_edit_campaign, term_for_user
from edu.models import School, Student, User
from quizzes.models import Attempt, Quiz
from quizzes.selectors import quizzes_managed

EXCELLENT_PCT = 90

# --- video links -------------------------------------------------------------------------------------------

# Only these hosts, only over https: the page links to them and embeds the players it can build itself.
VIDEO_HOSTS = (
    "v.qq.com",
    "www.bilibili.com",
    "player.bilibili.com",
    "www.ixigua.com",
    "www.youtube.com",
    "youtu.be",
)
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{4,40}")


def video_url_validate(url: str) -> None:
    """Refuse any video link that is not https on one of VIDEO_HOSTS (no user, no port)."""
    parts = urlsplit(url or "")
    if (
        parts.scheme != "https"
        or parts.hostname not in VIDEO_HOSTS
        or parts.netloc != parts.hostname
        or parts.username
    ):
        raise ValidationError(
            _("Use an https link to a video on %(hosts)s."), params={"hosts": ", ".join(VIDEO_HOSTS)}
        )


def video_embed_url(url: str) -> str | None:
    """The player address for an iframe, built from the video's id; None where we only link."""
    try:
        video_url_validate(url)
    except ValidationError:
        return None
    parts = urlsplit(url)
    host, path, query = parts.hostname, parts.path, parse_qs(parts.query)
    video_id = None
    if host == "www.youtube.com":
        if path == "/watch":
            video_id = (query.get("v") or [""])[0]
        elif path.startswith("/embed/"):
            video_id = path.removeprefix("/embed/")
        if video_id and _VIDEO_ID.fullmatch(video_id):
            return f"https://www.youtube.com/embed/{video_id}"
    elif host == "youtu.be":
        video_id = path.strip("/")
        if _VIDEO_ID.fullmatch(video_id):
            return f"https://www.youtube.com/embed/{video_id}"
    elif host == "www.bilibili.com":
        match = re.fullmatch(r"/video/(BV[A-Za-z0-9]{8,12})/?", path)
        if match:
            return f"https://player.bilibili.com/player.html?bvid={match[1]}&autoplay=0"
    elif host == "player.bilibili.com":
        bvid = (query.get("bvid") or [""])[0]
        if path == "/player.html" and re.fullmatch(r"BV[A-Za-z0-9]{8,12}", bvid):
            return f"https://player.bilibili.com/player.html?bvid={bvid}&autoplay=0"
    elif host == "v.qq.com":
        vid = (query.get("vid") or [""])[0]
        match = re.fullmatch(r"/x/(?:page|cover/[A-Za-z0-9]+)/([A-Za-z0-9]{8,20})\.html", path)
        vid = match[1] if match else vid
        if vid and _VIDEO_ID.fullmatch(vid):
            return f"https://v.qq.com/txp/iframe/player.html?vid={vid}"
    return None


# --- reads and gates ---------------------------------------------------------------------------------------


def _student_school(user: User) -> School | None:
    if not (user.is_authenticated and user.is_student and user.school_class_id):
        return None
    return user.school_class.school


def terms_for_student(*, user: User, today=None) -> list[Term]:
    """The terms under way that the student takes part in: their school is enrolled, their grade is one
    of the term's grades."""
    school = _student_school(user)
    if school is None:
        return []
    today = today or timezone.localdate()
    terms = Term.objects.filter(
        enrollments__school=school,
        enrollments__status=Enrollment.Status.ENROLLED,
        campaign__starts_on__lte=today,
        campaign__ends_on__gte=today,
    ).select_related("campaign")
    grade = user.school_class.grade
    return [term for term in terms.order_by("campaign__starts_on", "pk") if grade in term.grades]


def _student_in_term(*, user: User, term: Term) -> bool:
    school = _student_school(user)
    return (
        school is not None
        and user.school_class.grade in term.grades
        and Enrollment.objects.filter(term=term, school=school, status=Enrollment.Status.ENROLLED).exists()
    )


@dataclass
class LessonAccess:
    lesson: Lesson
    as_student: bool  # False: an editor previewing it
    completed: bool = False


def lesson_for_viewer(*, user: User, pk: int) -> LessonAccess:
    """The gate of the lesson page: a student of its grade in a school enrolled in its term, or an organiser
    who may edit the term's campaign (a preview). Everyone else: 404."""
    lesson = (
        Lesson.objects.select_related("term__campaign__region", "quiz").filter(pk=pk).first()
        if user.is_authenticated
        else None
    )
    if lesson is None:
        raise Http404("No such lesson.")
    if (
        user.is_student
        and user.school_class_id
        and user.school_class.grade == lesson.grade
        and _student_in_term(user=user, term=lesson.term)
    ):
        completed = LessonCompletion.objects.filter(lesson=lesson, user=user).exists()
        return LessonAccess(lesson=lesson, as_student=True, completed=completed)
    if can_edit_campaign(user=user, campaign=lesson.term.campaign):
        return LessonAccess(lesson=lesson, as_student=False)
    raise Http404("No such lesson.")


def term_for_content_editor(*, user: User, pk: int) -> Term:
    """The gate of the term content pages: organisers who may edit the campaign."""
    term = term_for_user(user=user, pk=pk)
    if not can_edit_campaign(user=user, campaign=term.campaign):
        raise PermissionDenied
    return term


def lesson_for_editor(*, user: User, pk: int) -> Lesson:
    lesson = Lesson.objects.select_related("term__campaign__region", "quiz").filter(pk=pk).first()
    if lesson is None or not user.is_authenticated:
        raise Http404("No such lesson.")
    if not can_edit_campaign(user=user, campaign=lesson.term.campaign):
        raise PermissionDenied
    return lesson


def quizzes_usable(*, user: User) -> QuerySet[Quiz]:
    """The quizzes an organiser may put in a term: the ones they manage (their region's and below)."""
    return quizzes_managed(user=user).order_by("title")


@dataclass
class PathLesson:
    lesson: Lesson
    done: bool


@dataclass
class StudentPath:
    """A student's path through their grade's lessons in one term, with the final exam at the end."""

    term: Term
    grade: int
    lessons: list[PathLesson] = field(default_factory=list)
    exam: TermExam | None = None
    progress: StudentProgress | None = None

    @property
    def done(self) -> int:
        return sum(1 for item in self.lessons if item.done)

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    @property
    def exam_open(self) -> bool:
        return self.exam is not None and self.total > 0 and self.done == self.total

    @property
    def next_lesson(self) -> Lesson | None:
        return next((item.lesson for item in self.lessons if not item.done), None)


def student_paths(*, user: User, today=None) -> list[StudentPath]:
    """The student's path in each term under way; makes their progress row on first sight. A handful of
    queries per term, whatever the number of lessons."""
    paths = []
    for term in terms_for_student(user=user, today=today):
        grade = user.school_class.grade
        lessons = list(
            Lesson.objects.filter(term=term, grade=grade).select_related("quiz").order_by("position", "pk")
        )
        done = set(
            LessonCompletion.objects.filter(user=user, lesson__term=term, lesson__grade=grade).values_list(
                "lesson_id", flat=True
            )
        )
        progress = StudentProgress.objects.filter(term=term, user=user).first()
        if progress is None:
            progress = progress_recompute(term=term, user=user)
        paths.append(
            StudentPath(
                term=term,
                grade=grade,
                lessons=[PathLesson(lesson, lesson.pk in done) for lesson in lessons],
                exam=TermExam.objects.filter(term=term, grade=grade).select_related("quiz").first(),
                progress=progress,
            )
        )
    return paths


def exam_locked(*, quiz: Quiz, user: User) -> bool:
    """A term's final exam opens to a student only when every lesson of their grade is done; staff who
    manage the quiz may always try it. One query for a quiz that is no exam."""
    if not TermExam.objects.filter(quiz=quiz).exists():
        return False
    if not user.is_authenticated:
        return True
    if quizzes_managed(user=user).filter(pk=quiz.pk).exists():
        return False
    return not StudentProgress.objects.filter(
        user=user, completed_all=True, term__exams__quiz=quiz, term__exams__grade=F("grade")
    ).exists()


# --- progress ----------------------------------------------------------------------------------------------


def _counted_attempt(*, quiz: Quiz, user: User) -> Attempt | None:
    attempts = Attempt.objects.filter(quiz=quiz, user=user, submitted_at__isnull=False)
    if quiz.grading == Quiz.Grading.LAST:
        return attempts.order_by("-submitted_at").first()
    if quiz.grading == Quiz.Grading.FIRST:
        return attempts.order_by("submitted_at").first()
    return attempts.order_by(F("score").desc(nulls_last=True), "submitted_at").first()


def _exam_fields(*, term: Term, grade: int, user: User) -> dict:
    empty = {"exam_score": None, "exam_passed": False, "exam_full_marks": False, "exam_excellent": False}
    exam = TermExam.objects.filter(term=term, grade=grade).select_related("quiz").first()
    attempt = _counted_attempt(quiz=exam.quiz, user=user) if exam else None
    if attempt is None or attempt.score is None:
        return empty
    score = attempt.score
    pct = (score * 100 / attempt.max_score).quantize(Decimal("0.01")) if attempt.max_score else Decimal(0)
    return {
        "exam_score": pct,
        "exam_passed": pct >= term.pass_mark_pct,
        "exam_full_marks": bool(attempt.max_score) and score >= attempt.max_score,
        "exam_excellent": pct >= EXCELLENT_PCT,
    }


def progress_recompute(*, term: Term, user: User) -> StudentProgress | None:
    """Rebuild the student's row in the term from the sources (class, roster record, completions, the
    counted exam attempt); None for someone who is not a student of an enrolled school of the term's grades.
    The school's rollup is refreshed after the commit."""
    school = _student_school(user)
    if school is None or not _student_in_term(user=user, term=term):
        # Moved out of the term's grades or schools: the row goes, and its school's figures with it.
        with transaction.atomic():
            gone = list(
                StudentProgress.objects.filter(term=term, user=user).values_list("school_id", flat=True)
            )
            if gone:
                StudentProgress.objects.filter(term=term, user=user).delete()
                figures_refresh_on_commit(term=term, school_ids=set(gone))
        return None
    grade = user.school_class.grade
    record = Student.objects.filter(user=user).only("claimed_at").first()
    lessons_total = Lesson.objects.filter(term=term, grade=grade).count()
    lessons_done = LessonCompletion.objects.filter(user=user, lesson__term=term, lesson__grade=grade).count()
    values = {
        "school": school,
        "school_class": user.school_class,
        "region_path": school.region_path,
        "grade": grade,
        # A student who joined with a class code has no roster record: having an account is registering.
        "registered": record is None or record.claimed_at is not None,
        "lessons_done": lessons_done,
        "lessons_total": lessons_total,
        "completed_all": lessons_total > 0 and lessons_done >= lessons_total,
        **_exam_fields(term=term, grade=grade, user=user),
    }
    with transaction.atomic():
        previous = StudentProgress.objects.filter(term=term, user=user).values_list("school_id", flat=True)
        previous_school = previous.first()
        progress, _created = StudentProgress.objects.update_or_create(term=term, user=user, defaults=values)
        figures_refresh_on_commit(term=term, school_ids={school.pk, previous_school} - {None})
    return progress


def progress_recompute_user(*, user: User) -> list[StudentProgress]:
    """After a claim or a class move: every term under way the student is in or has a row in."""
    terms = {term.pk: term for term in terms_for_student(user=user)}
    today = timezone.localdate()
    for term in Term.objects.filter(
        progress__user=user, campaign__starts_on__lte=today, campaign__ends_on__gte=today
    ).select_related("campaign"):
        terms.setdefault(term.pk, term)
    return [
        progress
        for term in terms.values()
        if (progress := progress_recompute(term=term, user=user)) is not None
    ]


def progress_ensure_for_school(*, term: Term, school: School) -> int:
    """A progress row for every current roster student of the term's grades at the school (an enrolled
    school's students count from the start, registered or not). Rows that exist are left alone."""
    if not Enrollment.objects.filter(term=term, school=school, status=Enrollment.Status.ENROLLED).exists():
        return 0
    totals = dict(
        Lesson.objects.filter(term=term).values("grade").annotate(n=Count("pk")).values_list("grade", "n")
    )
    students = Student.objects.filter(
        school=school, graduated_on__isnull=True, user__school_class__grade__in=term.grades
    ).values_list("user_id", "user__school_class_id", "user__school_class__grade", "claimed_at")
    rows = [
        StudentProgress(
            term=term,
            user_id=user_id,
            school=school,
            school_class_id=class_id,
            region_path=school.region_path,
            grade=grade,
            registered=claimed_at is not None,
            lessons_total=totals.get(grade, 0),
        )
        for user_id, class_id, grade, claimed_at in students
    ]
    with transaction.atomic():
        StudentProgress.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        figures_refresh_on_commit(term=term, school_ids={school.pk})
    return len(rows)


def _progress_lessons_changed(*, term: Term, grade: int) -> None:
    """A lesson added or removed: every row of the grade gets its new totals in three statements."""
    total = Lesson.objects.filter(term=term, grade=grade).count()
    done = (
        LessonCompletion.objects.filter(user=OuterRef("user"), lesson__term=term, lesson__grade=grade)
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = StudentProgress.objects.filter(term=term, grade=grade)
    rows.update(lessons_total=total, lessons_done=Coalesce(Subquery(done), Value(0)))
    complete = Q(lessons_total__gt=0, lessons_done__gte=F("lessons_total"))
    rows.filter(complete).update(completed_all=True)
    rows.exclude(complete).update(completed_all=False)
    figures_refresh_on_commit(
        term=term, school_ids=set(rows.values_list("school_id", flat=True).distinct()), whole_term=True
    )


def figures_refresh_on_commit(*, term: Term, school_ids: set[int], whole_term: bool = False) -> None:
    """After the commit, rebuild the schools' rollups (campaigns.figures, written by the figures side; it is
    imported when the callback runs, so that progress works before and without it)."""
    if not school_ids:
        return
    term_id, ids = term.pk, sorted(school_ids)

    def refresh() -> None:
        try:
            from campaigns import figures
        except ImportError:
            return
        fresh_term = Term.objects.select_related("campaign").get(pk=term_id)
        if whole_term and len(ids) > 50 and hasattr(figures, "term_figures_refresh"):
            figures.term_figures_refresh(term=fresh_term)
            return
        for school in School.objects.filter(pk__in=ids):
            figures.school_figures_refresh(term=fresh_term, school=school)

    transaction.on_commit(refresh)


# --- events ------------------------------------------------------------------------------------------------


class LessonError(Exception):
    """A lesson action that cannot be done; the message is translated."""


def lesson_complete(*, lesson: Lesson, user: User, now: datetime) -> LessonCompletion:
    """Record that the student has done the lesson; a second call changes nothing. A lesson with a quiz is
    done once an attempt of the quiz has been submitted."""
    if (
        lesson.quiz_id
        and not Attempt.objects.filter(quiz_id=lesson.quiz_id, user=user, submitted_at__isnull=False).exists()
    ):
        raise LessonError(_("Take the lesson's quiz to finish the lesson."))
    with transaction.atomic():
        completion, created = LessonCompletion.objects.get_or_create(
            lesson=lesson, user=user, defaults={"completed_at": now}
        )
        if created:
            progress_recompute(term=lesson.term, user=user)
    return completion


def progress_attempt_submitted(*, attempt: Attempt, now: datetime) -> None:
    """Called by quizzes.services inside the transaction that closes an attempt: a lesson's quiz completes
    the lesson; a final exam's attempt updates the score. Two small queries for any other quiz."""
    if not attempt.user_id:
        return
    lessons = list(Lesson.objects.filter(quiz_id=attempt.quiz_id).select_related("term"))
    exam_terms = list(Term.objects.filter(exams__quiz_id=attempt.quiz_id))
    if not lessons and not exam_terms:
        return
    user = User.objects.select_related("school_class__school").get(pk=attempt.user_id)
    grade = user.school_class.grade if user.is_student and user.school_class_id else None
    terms = {term.pk: term for term in exam_terms}
    for lesson in lessons:
        if lesson.grade == grade and _student_in_term(user=user, term=lesson.term):
            LessonCompletion.objects.get_or_create(lesson=lesson, user=user, defaults={"completed_at": now})
            terms[lesson.term_id] = lesson.term
    for term in terms.values():
        progress_recompute(term=term, user=user)


# --- term content (organisers) -----------------------------------------------------------------------------


def lesson_save(*, lesson: Lesson, by: User) -> Lesson:
    """Create (at the end of its grade's path) or update a lesson."""
    with transaction.atomic():
        is_new = lesson.pk is None
        if is_new:
            # The term's row lock orders two organisers adding lessons at once: each gets its own position.
            Term.objects.select_for_update().get(pk=lesson.term_id)
            last = Lesson.objects.filter(term_id=lesson.term_id, grade=lesson.grade).aggregate(
                m=Max("position")
            )
            lesson.position = (last["m"] or 0) + 1
        lesson.full_clean(exclude=["image"])
        lesson.save()
        if is_new:
            _progress_lessons_changed(term=lesson.term, grade=lesson.grade)
    return lesson


def lesson_move(*, lesson: Lesson, up: bool, by: User) -> Lesson:
    """Swap the lesson with its neighbour above or below; the unique position holds throughout."""
    with transaction.atomic():
        Term.objects.select_for_update().get(pk=lesson.term_id)
        lesson = Lesson.objects.get(pk=lesson.pk)
        siblings = Lesson.objects.filter(term_id=lesson.term_id, grade=lesson.grade)
        neighbour = (
            siblings.filter(position__lt=lesson.position).order_by("-position").first()
            if up
            else siblings.filter(position__gt=lesson.position).order_by("position").first()
        )
        if neighbour is None:
            return lesson
        mine, theirs = lesson.position, neighbour.position
        parked = (siblings.aggregate(m=Max("position"))["m"] or 0) + 1
        Lesson.objects.filter(pk=lesson.pk).update(position=parked)
        Lesson.objects.filter(pk=neighbour.pk).update(position=mine)
        Lesson.objects.filter(pk=lesson.pk).update(position=theirs)
        lesson.position = theirs
    return lesson


def lesson_delete(*, lesson: Lesson, by: User) -> None:
    """Remove a lesson with its completions; the grade's progress rows get their new totals."""
    with transaction.atomic():
        term, grade = lesson.term, lesson.grade
        lesson.delete()
        _progress_lessons_changed(term=term, grade=grade)


def exam_set(*, term: Term, grade: int, quiz: Quiz | None, by: User) -> TermExam | None:
    """Choose (or, with None, remove) the grade's final exam; the grade's exam results follow the new quiz."""
    if grade not in term.grades:
        raise LessonError(_("This term does not cover that grade."))
    with transaction.atomic():
        if quiz is None:
            TermExam.objects.filter(term=term, grade=grade).delete()
            exam = None
        else:
            exam, _created = TermExam.objects.update_or_create(
                term=term, grade=grade, defaults={"quiz": quiz}
            )
        rows = StudentProgress.objects.filter(term=term, grade=grade)
        school_ids = set(rows.exclude(exam_score=None).values_list("school_id", flat=True).distinct())
        rows.update(exam_score=None, exam_passed=False, exam_full_marks=False, exam_excellent=False)
        if quiz is not None:
            takers = rows.filter(
                user__in=Attempt.objects.filter(quiz=quiz, submitted_at__isnull=False).values("user")
            ).select_related("user__school_class__school")
            for row in takers:
                progress_recompute(term=term, user=row.user)
        figures_refresh_on_commit(term=term, school_ids=school_ids)
    return exam

"""A class's standing in its second-classroom terms, for the teacher's class page and the reminder sheet:
each student's registration, lessons and final exam, and the class's figures (campaigns.figures.Counts).

Reads only. The list is the class as it is now — its current roster students and the students who joined
with the class code — joined to their StudentProgress rows of each term; a student without a row yet (a
roster uploaded after the school enrolled, nobody has opened the path) counts as not started. A fixed number
of queries for any number of students and terms.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count
from django.http import Http404
from django.utils import timezone

from campaigns.figures import Counts
from campaigns.models import Enrollment, Lesson, StudentProgress, Term, TermExam
from edu.models import SchoolClass, Student, User


@dataclass
class StudentStanding:
    """One student of the class in one term: what they have done and what is missing."""

    user: User
    record: Student | None  # the roster record; None for a student who joined with the class code
    registered: bool
    lessons_done: int
    lessons_total: int
    has_exam: bool
    exam_score: Decimal | None = None
    exam_passed: bool = False
    exam_full_marks: bool = False
    exam_excellent: bool = False

    @property
    def name(self) -> str:
        """The real name from the roster (the teacher's pages and sheets only), else the account's name."""
        if self.record is not None:
            return self.record.real_name
        return self.user.get_full_name() or self.user.public_name

    @property
    def completed_all(self) -> bool:
        return self.lessons_total > 0 and self.lessons_done >= self.lessons_total

    @property
    def lessons_missing(self) -> bool:
        return self.lessons_done < self.lessons_total

    @property
    def exam_taken(self) -> bool:
        return self.exam_score is not None

    @property
    def exam_missing(self) -> bool:
        return self.has_exam and self.exam_score is None

    @property
    def exam_failed(self) -> bool:
        return self.has_exam and self.exam_score is not None and not self.exam_passed

    @property
    def behind(self) -> bool:
        return self.lessons_missing or self.exam_missing or self.exam_failed

    @property
    def needs_reminder(self) -> bool:
        return not self.registered or self.behind


@dataclass
class ClassTermProgress:
    """The class in one term: every student's standing and the figures built from them."""

    term: Term
    school_class: SchoolClass
    lessons_total: int
    exam: TermExam | None
    students: list[StudentStanding] = field(default_factory=list)
    has_roster: bool = True

    @property
    def counts(self) -> Counts:
        """The report's columns for the class, as the organisers' class figures count them: the headcount is
        the roster (or the typed-in headcount without one), never fewer than the students listed."""
        roster = sum(1 for student in self.students if student.record is not None)
        taken = [student for student in self.students if student.exam_taken]
        return Counts(
            schools=1,
            headcount=max(roster or self.school_class.headcount, len(self.students)),
            registered=sum(1 for student in self.students if student.registered),
            participating=sum(1 for student in self.students if student.completed_all),
            exam_taken=len(taken),
            exam_passed=sum(1 for student in taken if student.exam_passed),
            exam_full_marks=sum(1 for student in taken if student.exam_full_marks),
            exam_excellent=sum(1 for student in taken if student.exam_excellent),
            exam_score_sum=sum((student.exam_score for student in taken), Decimal(0)),
        )

    @property
    def unregistered(self) -> list[StudentStanding]:
        return [student for student in self.students if not student.registered]

    @property
    def behind(self) -> list[StudentStanding]:
        """Registered students with lessons to do or a final exam not taken or not passed."""
        return [student for student in self.students if student.registered and student.behind]

    @property
    def reminders(self) -> list[StudentStanding]:
        """Everyone with something missing, in roster order: the reminder sheet."""
        return [student for student in self.students if student.needs_reminder]


def class_terms(*, school_class: SchoolClass, today=None) -> list[Term]:
    """The terms the class takes part in now: its school is enrolled, the term has not ended, and the
    class's grade is one of the term's grades. A graduated class takes part in none."""
    if school_class.graduated_on is not None:
        return []
    today = today or timezone.localdate()
    terms = (
        Term.objects.filter(
            enrollments__school_id=school_class.school_id,
            enrollments__status=Enrollment.Status.ENROLLED,
            campaign__ends_on__gte=today,
        )
        .select_related("campaign")
        .order_by("campaign__starts_on", "pk")
    )
    # The grades are a JSON list: filtered here, the same way on SQLite and PostgreSQL.
    return [term for term in terms if school_class.grade in [int(grade) for grade in term.grades]]


def class_term_for_teacher(*, school_class: SchoolClass, term_pk: str | None) -> Term:
    """A term of the class (`?term=<term id>`); without one, the class's first current term. 404 otherwise."""
    terms = class_terms(school_class=school_class)
    if term_pk in (None, ""):
        if terms:
            return terms[0]
        raise Http404("The class takes part in no term.")
    term = next((term for term in terms if str(term.pk) == str(term_pk).strip()), None)
    if term is None:
        raise Http404("No such term for this class.")
    return term


def class_progress(*, school_class: SchoolClass, terms: list[Term]) -> list[ClassTermProgress]:
    """The class's standing in each of the terms: five queries, however many students and terms."""
    if not terms:
        return []
    grade = school_class.grade
    roster = list(
        Student.objects.filter(user__school_class=school_class, graduated_on__isnull=True)
        .select_related("user")
        .order_by("student_number", "pk")
    )
    joined = list(
        school_class.students.filter(is_student=True, student_record__isnull=True).order_by(
            "nickname", "username"
        )
    )
    lesson_totals = dict(
        Lesson.objects.filter(term__in=terms, grade=grade)
        .values("term_id")
        .annotate(n=Count("pk"))
        .values_list("term_id", "n")
    )
    exams = {
        exam.term_id: exam
        for exam in TermExam.objects.filter(term__in=terms, grade=grade).select_related("quiz")
    }
    rows = {
        (row.term_id, row.user_id): row
        for row in StudentProgress.objects.filter(
            term__in=terms, user__school_class=school_class, user__is_student=True
        ).only(
            "term_id",
            "user_id",
            "lessons_done",
            "exam_score",
            "exam_passed",
            "exam_full_marks",
            "exam_excellent",
        )
    }
    result = []
    members = [(record.user, record) for record in roster] + [(user, None) for user in joined]
    for term in terms:
        total = lesson_totals.get(term.pk, 0)
        exam = exams.get(term.pk)
        progress = ClassTermProgress(
            term=term, school_class=school_class, lessons_total=total, exam=exam, has_roster=bool(roster)
        )
        for user, record in members:
            row = rows.get((term.pk, user.pk))
            progress.students.append(
                StudentStanding(
                    user=user,
                    record=record,
                    # A student who joined with the class code registered by creating the account.
                    registered=record is None or record.claimed_at is not None,
                    lessons_done=min(row.lessons_done, total) if row else 0,
                    lessons_total=total,
                    has_exam=exam is not None,
                    exam_score=row.exam_score if row else None,
                    exam_passed=bool(row and row.exam_passed),
                    exam_full_marks=bool(row and row.exam_full_marks),
                    exam_excellent=bool(row and row.exam_excellent),
                )
            )
        result.append(progress)
    return result

"""Reads for quiz pages: a question as an attempt shows it, what the review may reveal, results and boards."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from edu.models import SchoolClass, User
from edu.selectors import classes_for_user, user_school_id
from quizzes.models import Attempt, AttemptItem, Quiz

LETTERS = "ABCDEFGH"


def question_count(*, quiz: Quiz) -> int:
    if quiz.selection == Quiz.Selection.FIXED:
        return quiz.fixed_questions.count()
    return sum(rule.count for rule in quiz.rules.all())


def answers_visible(*, attempt: Attempt, now: datetime) -> bool:
    """Whether the review may show the right answers and explanations, by the quiz's rule."""
    if not attempt.is_submitted:
        return False
    if attempt.quiz.review == Quiz.Review.AFTER_CLOSE:
        return attempt.quiz.closes_at is not None and now >= attempt.quiz.closes_at
    return True


@dataclass
class OptionView:
    index: int  # position as shown
    letter: str
    text: str
    chosen: bool
    correct: bool | None  # None while the answer may not be revealed


@dataclass
class ItemView:
    position: int
    number: int
    type: str
    stem: str
    image_url: str
    options: list[OptionView]
    answered: bool
    score: Decimal | None
    explanation: str | None
    source: str | None
    is_right: bool | None


def item_view(*, item: AttemptItem, reveal: bool) -> ItemView:
    """The question in the order this attempt shows its options. Without `reveal` nothing in it tells which
    option is right: no flag, no score, no explanation."""
    version = item.version
    selected = set(item.selected or [])
    options = [
        OptionView(
            index=shown,
            letter=LETTERS[shown],
            text=version.options[original],
            chosen=original in selected,
            correct=(original in version.correct) if reveal else None,
        )
        for shown, original in enumerate(item.option_order)
    ]
    return ItemView(
        position=item.position,
        number=item.position + 1,
        type=version.type,
        stem=version.stem,
        image_url=version.image.url if version.image else "",
        options=options,
        answered=item.answered_at is not None,
        score=item.score if reveal else None,
        explanation=version.explanation if reveal else None,
        source=version.source if reveal else None,
        is_right=(item.score == 1) if reveal and item.answered_at else None,
    )


def feedback(*, item: AttemptItem) -> dict:
    """What the page shows right after an answer, when the quiz reveals answers at once."""
    view = item_view(item=item, reveal=True)
    return {
        "right": bool(view.is_right),
        "correct": [option.index for option in view.options if option.correct],
        "explanation": view.explanation or "",
        "message": _("Right!") if view.is_right else _("Not quite."),
    }


# --- results for the quiz's managers ----------------------------------------------------------------------


def counted_attempts(*, quiz: Quiz, attempts: QuerySet[Attempt]) -> list[Attempt]:
    """One attempt per person: the highest, the last or the first submitted one, as the quiz says."""
    chosen: dict[object, Attempt] = {}
    for attempt in attempts.filter(submitted_at__isnull=False).order_by("submitted_at"):
        key = attempt.user_id or f"guest:{attempt.guest_key}"
        best = chosen.get(key)
        if (
            best is None
            or quiz.grading == Quiz.Grading.LAST
            or (quiz.grading == Quiz.Grading.HIGHEST and (attempt.score or 0) > (best.score or 0))
        ):
            chosen[key] = attempt
    return list(chosen.values())


@dataclass
class ResultRow:
    attempt: Attempt
    name: str
    username: str
    class_label: str
    attempts: int


@dataclass
class ResultsTable:
    rows: list[ResultRow] = field(default_factory=list)
    classes: list[SchoolClass] = field(default_factory=list)
    average_percent: int | None = None
    pass_rate: int | None = None
    full_marks: int = 0


def results_table(*, quiz: Quiz, user: User, class_id: str | None) -> ResultsTable:
    """Counted attempts of the people this manager may see: a teacher their school's classes, an organiser
    their region's; guests of a link quiz too, by nickname."""
    visible_classes = classes_for_user(user=user)
    attempts = Attempt.objects.filter(quiz=quiz).select_related("user", "school_class__school")
    if not user.is_superuser:
        # Students of classes outside the manager's school or region stay out; people without a class
        # (guests of a link quiz, the public of a campaign) appear by nickname.
        attempts = attempts.filter(Q(school_class__isnull=True) | Q(school_class__in=visible_classes))
    if class_id and class_id.isdigit():
        attempts = attempts.filter(school_class_id=int(class_id))
    per_person = defaultdict(int)
    for key in attempts.values_list("user_id", "guest_key"):
        per_person[key[0] or f"guest:{key[1]}"] += 1
    counted = counted_attempts(quiz=quiz, attempts=attempts)
    counted.sort(key=lambda a: (-(a.percent or 0), a.submitted_at - a.started_at))
    rows = [
        ResultRow(
            attempt=a,
            name=a.player_name,
            username=a.user.username if a.user_id else "",
            class_label=a.school_class.label if a.school_class_id else "",
            attempts=per_person[a.user_id or f"guest:{a.guest_key}"],
        )
        for a in counted
    ]
    table = ResultsTable(rows=rows)
    table.classes = list(
        visible_classes.filter(
            pk__in=Attempt.objects.filter(quiz=quiz).values("school_class")
        ).select_related("school")
    )
    if rows:
        table.average_percent = round(sum(r.attempt.percent or 0 for r in rows) / len(rows))
        table.pass_rate = round(100 * sum(1 for r in rows if r.attempt.passed) / len(rows))
        table.full_marks = sum(1 for r in rows if r.attempt.score == r.attempt.max_score)
    return table


@dataclass
class QuestionRow:
    number: int
    stem: str
    responses: int
    facility: int | None  # percent


def question_table(*, quiz: Quiz, attempt_ids: list) -> list[QuestionRow]:
    """Share of right answers per question over the counted attempts, hardest first."""
    stats = (
        AttemptItem.objects.filter(attempt_id__in=attempt_ids)
        .values("version__question_id", "version__stem")
        .annotate(responses=Count("pk"))
    )
    right = dict(
        AttemptItem.objects.filter(attempt_id__in=attempt_ids, score=1)
        .values("version__question_id")
        .annotate(n=Count("pk"))
        .values_list("version__question_id", "n")
    )
    rows = [
        QuestionRow(
            number=0,
            stem=row["version__stem"],
            responses=row["responses"],
            facility=round(100 * right.get(row["version__question_id"], 0) / row["responses"])
            if row["responses"]
            else None,
        )
        for row in stats
    ]
    rows.sort(key=lambda r: r.facility if r.facility is not None else 101)
    for number, row in enumerate(rows, start=1):
        row.number = number
    return rows


def export_rows(*, table: ResultsTable) -> tuple[list[str], list[list]]:
    header = [
        _("Nickname"),
        _("Username"),
        _("Class"),
        _("Score"),
        _("Out of"),
        _("Percent"),
        _("Passed"),
        _("Attempts"),
        _("Submitted at"),
    ]
    rows = [
        [
            row.name,
            row.username,
            row.class_label,
            float(row.attempt.score or 0),
            float(row.attempt.max_score),
            row.attempt.percent,
            _("yes") if row.attempt.passed else _("no"),
            row.attempts,
            timezone.localtime(row.attempt.submitted_at).strftime("%Y-%m-%d %H:%M"),
        ]
        for row in table.rows
    ]
    return header, rows


# --- leaderboards ----------------------------------------------------------------------------------------


@dataclass
class BoardRow:
    rank: int
    name: str
    percent: int
    is_me: bool


def leaderboard(*, quiz: Quiz, user: User, scope: str, limit: int = 50) -> list[BoardRow]:
    """The top of the user's class or school, by counted attempt; names are nicknames or initials."""
    attempts = Attempt.objects.filter(quiz=quiz).select_related("user")
    if scope == "school":
        school_id = user_school_id(user=user) if user.is_authenticated else None
        attempts = attempts.filter(school_id=school_id) if school_id else attempts.none()
    else:
        class_id = user.school_class_id if user.is_authenticated and user.is_student else None
        attempts = attempts.filter(school_class_id=class_id) if class_id else attempts.none()
    counted = counted_attempts(quiz=quiz, attempts=attempts)
    counted.sort(key=lambda a: (-(a.percent or 0), a.submitted_at - a.started_at))
    board, rank, previous = [], 0, None
    for index, attempt in enumerate(counted[:limit], start=1):
        if attempt.percent != previous:
            rank, previous = index, attempt.percent
        board.append(
            BoardRow(
                rank=rank,
                name=attempt.player_name,
                percent=attempt.percent or 0,
                is_me=user.is_authenticated and attempt.user_id == user.pk,
            )
        )
    return board

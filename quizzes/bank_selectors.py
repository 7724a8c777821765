"""Reads for the question-bank pages: filtering, item statistics per version, flags for a page of the list."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from edu.models import User
from quizzes.importing import ParsedQuestion, RowError
from quizzes.item_stats import (
    DEFAULT_FLAG_RULES,
    ItemFlag,
    ItemObservation,
    ItemStats,
    item_flags,
    item_stats,
)
from quizzes.models import LANGUAGES, AttemptItem, Audience, Category, Question, QuestionType, QuestionVersion
from quizzes.selectors import bank_questions_for_user

# Flags that say something is wrong with a question; "few responses" only says it is too early to tell.
PROBLEM_FLAGS = (ItemFlag.TOO_HARD, ItemFlag.TOO_EASY, ItemFlag.NEGATIVE_DISCRIMINATION)


@dataclass(frozen=True)
class BankFilters:
    """The list's filters as given in the query string; unknown values are dropped, never an error."""

    query: str = ""
    category: Category | None = None
    language: str = ""
    status: str = ""
    difficulty: int | None = None
    audience: str = ""
    type: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "BankFilters":
        category = None
        category_id = params.get("category", "")
        if category_id.isdecimal():
            category = Category.objects.filter(pk=int(category_id)).first()
        difficulty = params.get("difficulty", "")
        return cls(
            query=params.get("q", "").strip()[:200],
            category=category,
            language=_known(params.get("language", ""), [code for code, _name in LANGUAGES]),
            status=_known(params.get("status", ""), Question.Status.values),
            difficulty=int(difficulty) if difficulty in {"1", "2", "3", "4", "5"} else None,
            audience=_known(params.get("audience", ""), Audience.values),
            type=_known(params.get("type", ""), QuestionType.values),
        )

    def as_params(self) -> dict[str, str]:
        """The active filters as query-string pairs, for export links and pagination."""
        params = {
            "q": self.query,
            "category": str(self.category.pk) if self.category else "",
            "language": self.language,
            "status": self.status,
            "difficulty": str(self.difficulty or ""),
            "audience": self.audience,
            "type": self.type,
        }
        return {key: value for key, value in params.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.as_params())


def _known(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else ""


def bank_questions_filtered(*, user: User, filters: BankFilters) -> QuerySet[Question]:
    """The bank as this user may see it, narrowed by the list's filters; a category includes its subtree."""
    questions = bank_questions_for_user(user=user)
    if filters.query:
        questions = questions.filter(current_version__stem__icontains=filters.query)
    if filters.category is not None:
        questions = questions.filter(category_path__startswith=filters.category.path)
    if filters.language:
        questions = questions.filter(language=filters.language)
    if filters.status:
        questions = questions.filter(status=filters.status)
    if filters.difficulty:
        questions = questions.filter(difficulty=filters.difficulty)
    if filters.audience:
        # An empty audience means everyone, so it matches every audience filter.
        questions = questions.filter(Q(audience__contains=f"|{filters.audience}|") | Q(audience=""))
    if filters.type:
        questions = questions.filter(current_version__type=filters.type)
    return questions


def category_choices() -> list[tuple[Category, int]]:
    """Every category in tree order with its depth (0 for a top-level one), for selects."""
    return [(category, category.path.count("/") - 1) for category in Category.objects.order_by("path")]


def category_trail(*, category: Category) -> list[Category]:
    """The category and its ancestors, root first, in one query."""
    parts = category.path.strip("/").split("/")
    prefixes = ["/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]
    return list(Category.objects.filter(path__in=prefixes).order_by("path"))


def categories_primed(questions: Sequence[Question]) -> None:
    """Fill each question's category ancestors from one query, so walking `.parent` costs nothing."""
    by_pk = {category.pk: category for category in Category.objects.all()}
    for node in by_pk.values():
        node.parent = by_pk.get(node.parent_id) if node.parent_id else None
    for question in questions:
        question.category = by_pk[question.category_id]


# --- item statistics ------------------------------------------------------------------------------------


def question_item_stats(*, question: Question) -> list[tuple[QuestionVersion, ItemStats]]:
    """Item analysis of every version of a question from its submitted attempts, oldest version first.

    One query for the versions and one for the answers; the statistics are computed in Python by
    quizzes.item_stats, so what the page shows is exactly what that module defines.
    """
    versions = list(question.versions.select_related("created_by").order_by("number"))
    observations: dict[int, list[ItemObservation]] = defaultdict(list)
    option_counts = {version.pk: len(version.options) for version in versions}
    rows = (
        AttemptItem.objects.filter(
            version_id__in=option_counts, attempt__submitted_at__isnull=False, attempt__max_score__gt=0
        )
        .values_list("version_id", "score", "selected", "attempt__score", "attempt__max_score")
        .order_by()
    )
    for version_id, score, selected, total, total_max in rows.iterator(chunk_size=5000):
        if total is None:
            continue
        item_score = float(score or 0)
        total_max = float(total_max)
        # The attempt's total is rounded to hundredths and the item's mark to thousandths: keep the total
        # within what item_stats accepts (at least this item's mark, at most the attempt's maximum).
        total_score = min(max(float(total), item_score), total_max)
        if total_max < 1:
            continue
        count = option_counts[version_id]
        chosen = frozenset(i for i in (selected or ()) if isinstance(i, int) and 0 <= i < count)
        observations[version_id].append(
            ItemObservation(
                item_score=item_score,
                item_max=1.0,
                total_score=total_score,
                total_max=total_max,
                chosen=chosen,
            )
        )
    return [
        (version, item_stats(observations=observations[version.pk], option_count=option_counts[version.pk]))
        for version in versions
    ]


@dataclass(frozen=True)
class ItemSummary:
    """Facility and discrimination of one version from database sums, for flags on a list page."""

    responses: int
    facility: float | None
    discrimination: float | None
    flags: tuple[ItemFlag, ...]

    @property
    def problems(self) -> tuple[ItemFlag, ...]:
        return tuple(flag for flag in self.flags if flag in PROBLEM_FLAGS)


def version_item_summaries(*, version_ids: Iterable[int]) -> dict[int, ItemSummary]:
    """Responses, facility, discrimination and flags per version, aggregated in the database in one query.

    The Pearson correlation between the item's mark x and the rest of the attempt y comes from the sums
    n, Σx, Σy, Σxy, Σx², Σy², so no answer row leaves the database — a list page stays fast however many
    students answered. Item marks are 0..1, so the facility is Σx / n.
    """
    version_ids = [pk for pk in version_ids if pk]
    if not version_ids:
        return {}
    x = Coalesce(Cast("score", FloatField()), Value(0.0))
    y = Cast(F("attempt__score"), FloatField()) - x
    rows = (
        AttemptItem.objects.filter(
            version_id__in=version_ids,
            attempt__submitted_at__isnull=False,
            attempt__score__isnull=False,
            attempt__max_score__gt=0,
        )
        .order_by()
        .values("version_id")
        .annotate(
            n=Count("pk"),
            sx=Sum(x),
            sy=Sum(y),
            sxy=Sum(x * y),
            sxx=Sum(x * x),
            syy=Sum(y * y),
        )
    )
    summaries = {}
    for row in rows:
        n = row["n"]
        facility = row["sx"] / n if n else None
        discrimination = _correlation(n, row["sx"], row["sy"], row["sxy"], row["sxx"], row["syy"])
        summaries[row["version_id"]] = ItemSummary(
            responses=n,
            facility=facility,
            discrimination=discrimination,
            flags=item_flags(
                responses=n, facility=facility, discrimination=discrimination, rules=DEFAULT_FLAG_RULES
            ),
        )
    return summaries


def _correlation(n: int, sx: float, sy: float, sxy: float, sxx: float, syy: float) -> float | None:
    if n < 2:
        return None
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    # What is left of a variance after cancelling sums this large is rounding noise, not spread.
    if var_x <= 1e-9 * max(1.0, n * sxx) or var_y <= 1e-9 * max(1.0, n * syy):
        return None
    r = (n * sxy - sx * sy) / (math.sqrt(var_x) * math.sqrt(var_y))
    return max(-1.0, min(1.0, r))


# --- imports --------------------------------------------------------------------------------------------


def bank_duplicates(*, questions: Sequence[ParsedQuestion], unit: str = "row") -> list[RowError]:
    """Questions of a file that the bank already has, as the import would report them (for a preview)."""
    by_fingerprint = {question.fingerprint(): question for question in questions}
    existing = Question.objects.filter(fingerprint__in=by_fingerprint).values_list("fingerprint", "pk")
    errors = [
        RowError(
            by_fingerprint[fingerprint].row,
            _("this question is already in the bank (question #%(id)s)") % {"id": pk},
            unit,
        )
        for fingerprint, pk in existing
    ]
    return sorted(errors, key=lambda error: error.row or 0)


def flag_label(flag: ItemFlag) -> str:
    return {
        ItemFlag.TOO_HARD: _("too hard"),
        ItemFlag.TOO_EASY: _("too easy"),
        ItemFlag.NEGATIVE_DISCRIMINATION: _("negative discrimination"),
        ItemFlag.FEW_RESPONSES: _("few responses"),
    }[flag]


def flag_explanation(flag: ItemFlag) -> str:
    rules = DEFAULT_FLAG_RULES
    if flag == ItemFlag.TOO_HARD:
        return _(
            "Too hard: students earned less than %(percent)s%% of the marks. Check the answer key and the "
            "wording, or move the question to an older audience."
        ) % {"percent": round(100 * rules.too_hard_below)}
    if flag == ItemFlag.TOO_EASY:
        return _(
            "Too easy: students earned more than %(percent)s%% of the marks, so the question hardly tells "
            "anyone apart. Fine for warming up; make the wrong options more plausible otherwise."
        ) % {"percent": round(100 * rules.too_easy_above)}
    if flag == ItemFlag.NEGATIVE_DISCRIMINATION:
        return _(
            "Negative discrimination: students who did well on the rest of the quiz got this question wrong "
            "more often than those who did poorly. The answer key may be wrong, or the question misleading."
        )
    return _("Few responses: fewer than %(count)s submitted answers, too few to judge the question yet.") % {
        "count": rules.min_responses
    }

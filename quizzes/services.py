"""Writes of the bank and of attempts. Every write that matters holds its transaction here.

Concurrency is left to the database: one open attempt per person (a partial unique index), an answer written
by a conditional UPDATE, and a submission that only the first of two simultaneous requests can make.
"""

import contextlib
import logging
import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.text import slugify
from django.utils.translation import gettext as _

from edu.models import User
from quizzes import marking, signals
from quizzes.access import TOKEN_HOLDER, AttemptOwner
from quizzes.bank_selectors import bank_duplicates
from quizzes.importing import ParsedQuestion, RowError
from quizzes.models import (
    Attempt,
    AttemptItem,
    Category,
    Question,
    QuestionVersion,
    Quiz,
    pack_codes,
)

LETTERS = "ABCDEFGH"
logger = logging.getLogger(__name__)


class QuizError(Exception):
    """A refusal the student can act on; `code` is stable, `message` translated."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- the bank --------------------------------------------------------------------------------------------


def category_for_path(*, names: Sequence[str]) -> Category:
    """The category at this path of names (Chinese or English names, or slugs), created where missing."""
    parent = None
    if not names:
        names = ["general"]
    for name in names:
        name = name.strip()
        siblings = Category.objects.filter(parent=parent)
        found = (
            siblings.filter(slug=name).first()
            or siblings.filter(name=name).first()
            or siblings.filter(name_en__iexact=name).first()
        )
        if found is None:
            base = slugify(name, allow_unicode=True)[:50] or "category"
            slug, n = base, 1
            while Category.objects.filter(slug=slug).exists():
                n += 1
                slug = f"{base}-{n}"
            found = Category.objects.create(slug=slug, name=name, parent=parent)
        parent = found
    return parent


def _version_fields(parsed: ParsedQuestion) -> dict:
    return {
        "type": parsed.type,
        "stem": parsed.stem,
        "options": list(parsed.options),
        "correct": [LETTERS.index(letter) for letter in parsed.correct],
        "explanation": parsed.explanation,
        "source": parsed.source,
    }


def _new_question(
    *,
    parsed: ParsedQuestion,
    category: Category,
    user: User | None,
    status: str,
    translation_group: uuid.UUID | None = None,
) -> Question:
    """An unsaved bank entry; its owner is the creating teacher's school or organiser's region."""
    return Question(
        language=parsed.language,
        translation_group=translation_group or uuid.uuid4(),
        category=category,
        category_path=category.path,
        audience=pack_codes(parsed.audience),
        tags=pack_codes(parsed.tags),
        difficulty=parsed.difficulty,
        status=status,
        fingerprint=parsed.fingerprint(),
        owner_region=user.region if user and user.is_organiser else None,
        owner_school=user.school if user and user.is_teacher and not user.is_organiser else None,
        created_by=user,
    )


def question_create(
    *,
    parsed: ParsedQuestion,
    category: Category,
    user: User | None,
    status: str = Question.Status.DRAFT,
    translation_group: uuid.UUID | None = None,
    partial_credit: bool = False,
    image=None,
) -> Question:
    with transaction.atomic():
        question = _new_question(
            parsed=parsed, category=category, user=user, status=status, translation_group=translation_group
        )
        question.save()
        version = QuestionVersion.objects.create(
            question=question,
            number=1,
            partial_credit=partial_credit,
            created_by=user,
            image=image or "",
            **_version_fields(parsed),
        )
        question.current_version = version
        question.save(update_fields=["current_version"])
    return question


def question_update(
    *,
    question: Question,
    parsed: ParsedQuestion,
    category: Category,
    status: str,
    user: User,
    partial_credit: bool = False,
    image=None,
) -> Question:
    """Edit a question. A version some attempt has shown stays as it was: the edit becomes a new version."""
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        current = question.current_version
        fields = _version_fields(parsed)
        text_changed = any(getattr(current, name) != value for name, value in fields.items()) or (
            current.partial_credit != partial_credit or image is not None
        )
        if text_changed:
            if current.attempt_items.exists():
                current = QuestionVersion.objects.create(
                    question=question,
                    number=current.number + 1,
                    partial_credit=partial_credit,
                    created_by=user,
                    image=image if image is not None else current.image,
                    **fields,
                )
            else:
                for name, value in fields.items():
                    setattr(current, name, value)
                current.partial_credit = partial_credit
                if image is not None:
                    current.image = image
                current.save()
        question.current_version = current
        question.category = category
        question.language = parsed.language
        question.audience = pack_codes(parsed.audience)
        question.tags = pack_codes(parsed.tags)
        question.difficulty = parsed.difficulty
        question.status = status
        question.fingerprint = parsed.fingerprint()
        question.save()
    return question


def parsed_from_question(question: Question) -> ParsedQuestion:
    version = question.current_version
    path = []
    node = question.category
    while node is not None:
        path.append(node.name)
        node = node.parent
    return ParsedQuestion(
        type=version.type,
        stem=version.stem,
        options=tuple(version.options),
        correct=tuple(LETTERS[i] for i in sorted(version.correct)),
        explanation=version.explanation,
        difficulty=question.difficulty,
        category=tuple(reversed(path)),
        tags=tuple(question.tag_list),
        audience=tuple(question.audience_list),
        language=question.language,
        source=version.source,
    )


@dataclass
class ImportReport:
    imported: int
    errors: list[RowError]


def questions_import(
    *,
    questions: Sequence[ParsedQuestion],
    user: User | None,
    status: str = Question.Status.READY,
    unit: str = "row",
) -> ImportReport:
    """All or nothing: a question already in the bank is reported with its row (or line), and nothing is
    imported."""
    errors = bank_duplicates(questions=questions, unit=unit)
    if errors:
        return ImportReport(imported=0, errors=errors)
    try:
        with transaction.atomic():
            _bulk_create_questions(questions=questions, user=user, status=status)
    except IntegrityError:
        # The same question was added between the check and the write: report what is there now.
        return ImportReport(
            imported=0,
            errors=bank_duplicates(questions=questions, unit=unit)
            or [RowError(None, _("the bank changed during the import; try again"))],
        )
    return ImportReport(imported=len(questions), errors=[])


def _bulk_create_questions(*, questions: Sequence[ParsedQuestion], user: User | None, status: str) -> None:
    """A few statements for thousands of questions: questions, then their first versions, then one UPDATE
    pointing each question at its version."""
    categories = {
        path: category_for_path(names=path) for path in dict.fromkeys(q.category for q in questions)
    }
    created = Question.objects.bulk_create(
        [
            _new_question(parsed=parsed, category=categories[parsed.category], user=user, status=status)
            for parsed in questions
        ],
        batch_size=1000,
    )
    QuestionVersion.objects.bulk_create(
        [
            QuestionVersion(question=question, number=1, created_by=user, **_version_fields(parsed))
            for question, parsed in zip(created, questions, strict=True)
        ],
        batch_size=1000,
    )
    first_version = QuestionVersion.objects.filter(question=OuterRef("pk"), number=1).values("pk")[:1]
    Question.objects.filter(pk__in=[q.pk for q in created]).update(current_version=Subquery(first_version))


# --- attempts --------------------------------------------------------------------------------------------


def draw_versions(*, quiz: Quiz, rng: random.Random) -> list[QuestionVersion]:
    """The questions of a new attempt: the fixed list, or a fresh draw by the quiz's rules."""
    if quiz.selection == Quiz.Selection.FIXED:
        versions = [
            fixed.question.current_version
            for fixed in quiz.fixed_questions.select_related("question__current_version")
            if fixed.question.status != Question.Status.RETIRED
        ]
    else:
        versions, taken = [], set()
        for rule in quiz.rules.select_related("category"):
            candidates = Question.objects.filter(
                status=Question.Status.READY,
                language=quiz.language,
                category_path__startswith=rule.category.path,
                difficulty__gte=rule.difficulty_min,
                difficulty__lte=rule.difficulty_max,
            ).exclude(pk__in=taken)
            if rule.audience:
                # A question with no audience set is meant for everyone.
                candidates = candidates.filter(Q(audience__contains=f"|{rule.audience}|") | Q(audience=""))
            ids = list(candidates.values_list("pk", flat=True))
            if len(ids) < rule.count:
                raise QuizError(
                    "not_enough_questions",
                    _("Only %(found)s questions for “%(category)s”; the rule asks for %(count)s.")
                    % {"found": len(ids), "category": rule.category, "count": rule.count},
                )
            chosen = rng.sample(ids, rule.count)
            taken.update(chosen)
            versions.extend(
                q.current_version
                for q in Question.objects.filter(pk__in=chosen).select_related("current_version")
            )
    if not versions:
        raise QuizError("no_questions", _("This quiz has no questions yet."))
    if quiz.shuffle_questions:
        rng.shuffle(versions)
    return versions


def attempt_start(
    *,
    quiz: Quiz,
    user: User | None,
    guest_key: str = "",
    guest_name: str = "",
    now: datetime,
    rng: random.Random | None = None,
) -> Attempt:
    """Start an attempt, or return the one already in progress (a double click or a second tab opens one)."""
    rng = rng or random.SystemRandom()
    owner = {"user": user} if user is not None else {"guest_key": guest_key}
    open_attempt = Attempt.objects.filter(quiz=quiz, submitted_at__isnull=True, **owner).first()
    if open_attempt is not None:
        return attempt_close_if_expired(attempt=open_attempt, now=now)
    if not quiz.is_open(now):
        raise QuizError("closed", _("This quiz is not open now."))
    previous = Attempt.objects.filter(quiz=quiz, **owner).count()
    if quiz.max_attempts and previous >= quiz.max_attempts:
        raise QuizError("no_attempts_left", _("You have used all your attempts at this quiz."))
    versions = draw_versions(quiz=quiz, rng=rng)
    deadline = None
    if quiz.time_limit_minutes:
        deadline = now + timedelta(minutes=quiz.time_limit_minutes)
    if quiz.closes_at and (deadline is None or quiz.closes_at < deadline):
        deadline = quiz.closes_at
    school_class = user.school_class if user is not None and user.is_student else None
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                quiz=quiz,
                number=previous + 1,
                started_at=now,
                deadline=deadline,
                guest_name=guest_name,
                school_class=school_class,
                school=school_class.school if school_class else None,
                max_score=Decimal(len(versions)),
                **owner,
            )
            AttemptItem.objects.bulk_create(
                AttemptItem(
                    attempt=attempt,
                    position=position,
                    version=version,
                    option_order=_option_order(version, shuffle=quiz.shuffle_options, rng=rng),
                )
                for position, version in enumerate(versions)
            )
    except IntegrityError:
        # The same person started the same quiz at the same moment elsewhere: theirs is the one in progress.
        existing = Attempt.objects.filter(quiz=quiz, submitted_at__isnull=True, **owner).first()
        if existing is None:
            raise
        return existing
    return attempt


def _option_order(version: QuestionVersion, *, shuffle: bool, rng: random.Random) -> list[int]:
    order = list(range(len(version.options)))
    # True/false keeps its natural order; shuffling it only confuses.
    if shuffle and version.type != "true_false":
        rng.shuffle(order)
    return order


@dataclass(frozen=True)
class SavedAnswer:
    item: AttemptItem  # its question version loads on first use
    reveal: bool  # the quiz shows the right answer at once


def attempt_answer(
    *, attempt_id, owner: AttemptOwner, position: int, selected: Sequence[int], now: datetime
) -> SavedAnswer:
    """Save one answer the moment it is given. `selected` holds indices into the options as shown.

    A submission running at the same moment either sees this answer or comes strictly before it (and then
    the answer is refused, never lost silently): the answer's write holds a lock on its attempt's row, which
    the submission waits for before it sums the score (attempt_submit_owned).

    This is the hot path of every quiz, so its statements are written in SQL (_AnswerSQL): building the
    same queries through the ORM cost more CPU than the rest of the request. On PostgreSQL, outside a
    transaction, the answer is two statements (_answer_by_conditional_write): a read, then one write that
    applies only while the attempt is open, two round trips to the server instead of four. Whatever that
    write does not settle, every answer inside a caller's transaction (whose share lock would last to its
    end, and deadlock with a submission in another such transaction), and every answer on SQLite go the way
    of one transaction that locks the attempt first (_answer_in_transaction). The tests of
    tests/quizzes/test_answer_sql.py hold both to the ORM's meaning.
    """
    sql = _AnswerSQL.for_connection(connection)
    given = _Given(attempt_id=attempt_id, owner=owner, position=position, selected=selected, now=now)
    if (
        sql.conditional_write
        and 0 <= position <= _MAX_POSITION
        and not connection.in_atomic_block  # a caller's transaction would hold the share lock to its end
        and connection.get_autocommit()
    ):
        saved = _answer_by_conditional_write(sql, given)
        if saved is not None:
            return saved
    return _answer_in_transaction(sql, given)


@dataclass(frozen=True)
class _Given:
    """An answer as attempt_answer was given it."""

    attempt_id: object
    owner: AttemptOwner
    position: int
    selected: Sequence[int]
    now: datetime


def _answer_by_conditional_write(sql: "_AnswerSQL", given: "_Given") -> SavedAnswer | None:
    """PostgreSQL: read the item without a lock, then write the answer with one statement whose conditions
    are the attempt's being open (not submitted, before its deadline) and, where the quiz reveals answers at
    once, the question's being unanswered; the statement share-locks the attempt's row, as a submission
    locks it for update. None when the write did not apply or the read found nothing to write (no such
    item, the attempt past its deadline): the caller then answers in a transaction, which decides."""
    with connection.cursor() as cursor:
        cursor.execute(*sql.select(connection, given))
        row = cursor.fetchone()
        if row is None or (not row[7] and row[8]):  # no such item; or open and past its deadline
            return None
        answer = _checked_answer(sql, row, selected=given.selected)
        cursor.execute(*sql.update(connection, given, answer, conditional=True))
        if cursor.rowcount != 1:
            return None
    return answer.saved(given)


def _answer_in_transaction(sql: "_AnswerSQL", given: "_Given") -> SavedAnswer:
    """One query finds the item and locks its attempt's row (and the item's), then the answer is written."""
    closed = False
    with transaction.atomic(), connection.cursor() as cursor:
        row = None
        if 0 <= given.position <= _MAX_POSITION:  # beyond the column's range no question is there
            cursor.execute(*sql.select(connection, given, lock=True))
            row = cursor.fetchone()
        if row is None:
            owned = Attempt.objects.filter(pk=given.attempt_id)
            if not (owned if given.owner.token_holder else owned.filter(given.owner.q())).exists():
                raise QuizError("no_such_attempt", _("There is no such attempt."))
            raise QuizError("no_such_question", _("There is no such question in this attempt."))
        submitted, expired = row[7], row[8]
        if not submitted and expired:
            # Past the deadline the attempt closes with what was saved: scoring reads the whole attempt and
            # quiz (its row is locked already).
            locked = _locked_for_closing(attempt_id=given.attempt_id, owner=TOKEN_HOLDER)
            _score_and_close(locked, now=given.now)
            closed = True
        elif not submitted:
            answer = _checked_answer(sql, row, selected=given.selected)
            cursor.execute(*sql.update(connection, given, answer))
    if closed or submitted:
        raise QuizError("attempt_closed", _("This attempt is closed; answers are no longer accepted."))
    return answer.saved(given)


async def attempt_answer_on_loop(*, attempt_id, position: int, selected: Sequence[int], now: datetime):
    """attempt_answer for the holder of the attempt's answer token, on the event loop (edu/eventloop.py,
    edu/loopdb.py): the same statements and checks, the SavedAnswer, or the QuizError that refuses the
    answer; eventloop.FALLBACK, having written nothing, for what attempt_answer decides with the ORM (no such
    item, an attempt past its deadline to close) or, on PostgreSQL, a conditional write that did not apply.
    Where the quiz shows the right answer at once, the saved item comes with its question version, read in
    the same transaction, for the view's feedback. Raises loopdb.Busy when the loop cannot have the
    database now. PostgreSQL: the conditional write alone for a valid answer to an item whose facts the
    process knows (_answer_by_known_item), else _answer_by_conditional_write's two statements, awaited.
    SQLite: the transaction of _answer_in_transaction, under the process's write lock (loopdb waits for it
    on the loop)."""
    from edu import eventloop, loopdb

    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: its proxy looks it up at every use
    sql = _AnswerSQL.for_connection(connection)
    given = _Given(attempt_id=attempt_id, owner=TOKEN_HOLDER, position=position, selected=selected, now=now)
    if not 0 <= position <= _MAX_POSITION:
        return eventloop.FALLBACK
    async with loopdb.connection() as db:
        in_transaction = not sql.conditional_write
        if in_transaction:
            await db.begin()
        else:
            saved = await _answer_by_known_item(db, sql, given, connection)
            if saved is not None:
                return saved
        await db.execute(*sql.select(connection, given, lock=in_transaction))
        row = await db.fetchone()
        if row is None or (not row[7] and row[8]):  # no such item; or open and past its deadline
            return eventloop.FALLBACK
        # The refusals, written nothing.
        answer = _checked_answer(sql, row, selected=given.selected, connection=connection)
        await db.execute(*sql.update(connection, given, answer, conditional=not in_transaction))
        if not in_transaction and db.rowcount != 1:
            return eventloop.FALLBACK
        version = None
        if answer.reveal:
            # The view shows the right answer and the explanation at once: the version, read as the ORM would.
            await db.execute(*sql.version(connection, version_id=answer.version_id))
            version = sql.version_from_row(connection, await db.fetchone())
        if in_transaction:
            await db.commit()
    return answer.saved(given, version=version)


async def _answer_by_known_item(db, sql: "_AnswerSQL", given: _Given, connection) -> SavedAnswer | None:
    """PostgreSQL, on the loop: a valid answer to an item whose facts are known (_KnownItems; the first answer
    of an attempt in this process reads them all) in one statement, the conditional write, which applies only
    while the attempt is open, its quiz does not show the right answer at once and the question version is
    as known. None when that did not apply or the answer is refused: attempt_answer_on_loop's two
    statements then decide, and give the refusal exactly as attempt_answer gives it."""
    items = _known_items.get(given.attempt_id)
    if items is None:
        await db.execute(*sql.items(connection, attempt_id=given.attempt_id))
        # Each row: the item's position, then its facts' columns.
        items = {row[0]: sql.item_facts(connection, *row[1:]) for row in await db.fetchall()}
        if not items:
            return None
        _known_items.put(given.attempt_id, items)
    facts = items.get(given.position)
    if facts is None:
        return None
    try:
        answer = _marked(facts, selected=given.selected, answered=False, reveal=False)
    except QuizError:
        return None
    await db.execute(*sql.update(connection, given, answer, conditional=True, known=facts))
    return answer.saved(given) if db.rowcount == 1 else None


@dataclass(frozen=True)
class _CheckedAnswer:
    item_id: int
    version_id: int
    shown: list[int]
    chosen: list[int]
    score: Decimal
    reveal: bool

    def saved(self, given: _Given, *, version: QuestionVersion | None = None) -> SavedAnswer:
        """The saved item; with its `version` (as read already) for the feedback shown at once."""
        item = AttemptItem(
            id=self.item_id,
            attempt_id=given.attempt_id,
            position=given.position,
            version_id=self.version_id,
            option_order=self.shown,
            selected=self.chosen,
            answered_at=given.now,
            score=self.score,
        )
        if version is not None:
            AttemptItem._meta.get_field("version").set_cached_value(item, version)
        return SavedAnswer(item=item, reveal=self.reveal)


def _checked_answer(
    sql: "_AnswerSQL", row, *, selected: Sequence[int], connection=connection
) -> _CheckedAnswer:
    """The answer to write for the item `row` (as _AnswerSQL.select reads it), or the QuizError that refuses
    it: the attempt closed, a choice not among the options, two choices for a single-choice question, or a
    changed answer where the quiz showed the right one at once."""
    (
        item_id,
        version_id,
        option_order,
        answered,
        kind,
        correct,
        partial_credit,
        submitted,
        _expired,
        review,
    ) = row
    if submitted:
        raise QuizError("attempt_closed", _("This attempt is closed; answers are no longer accepted."))
    facts = sql.item_facts(connection, item_id, version_id, option_order, kind, correct, partial_credit)
    return _marked(facts, selected=selected, answered=answered, reveal=review == Quiz.Review.AFTER_EACH)


@dataclass(frozen=True)
class _ItemFacts:
    """What marking an answer needs of an attempt's item: its options' order as shown (set when the attempt
    starts, never changed), and its question version's kind and right answer (services.question_update
    makes a new version rather than edit one an attempt shows; the write checks them all the same)."""

    item_id: int
    version_id: int
    shown: tuple[int, ...]
    kind: str
    correct: tuple[int, ...]
    partial_credit: bool


def _marked(facts: _ItemFacts, *, selected: Sequence[int], answered: bool, reveal: bool) -> _CheckedAnswer:
    """The answer to write, or the QuizError that refuses it (_checked_answer, for an open attempt)."""
    shown = facts.shown
    if not selected or any(
        not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(shown) for i in selected
    ):
        raise QuizError("invalid_choice", _("Choose one of the options."))
    if facts.kind != "multiple" and len(set(selected)) != 1:
        raise QuizError("one_choice_only", _("Choose exactly one option."))
    if answered and reveal:
        # The answer was shown right away, so it cannot be changed afterwards.
        raise QuizError("already_answered", _("You have already answered this question."))
    chosen = sorted({shown[i] for i in selected})
    score = marking.mark(
        kind=facts.kind, correct=list(facts.correct), selected=chosen, partial_credit=facts.partial_credit
    )
    return _CheckedAnswer(
        item_id=facts.item_id,
        version_id=facts.version_id,
        shown=list(shown),
        chosen=chosen,
        score=score,
        reveal=reveal,
    )


class _KnownItems:
    """The _ItemFacts of recent attempts, by attempt and position, for the answers served on the event loop
    (PostgreSQL): read once per attempt and process, they spare every later answer of the attempt its read,
    leaving one statement. The least recently used attempts are forgotten beyond `size` items in all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._attempts: OrderedDict = OrderedDict()
        self._items = 0
        self._lock = threading.Lock()

    def get(self, attempt_id) -> dict | None:
        with self._lock:
            items = self._attempts.get(attempt_id)
            if items is not None:
                self._attempts.move_to_end(attempt_id)
            return items

    def put(self, attempt_id, items: dict) -> None:
        with self._lock:
            previous = self._attempts.pop(attempt_id, None)
            self._items += len(items) - (len(previous) if previous else 0)
            self._attempts[attempt_id] = items
            while self._items > self.size and len(self._attempts) > 1:
                _forgotten, forgotten = self._attempts.popitem(last=False)
                self._items -= len(forgotten)


# About 400 bytes an item (tracemalloc): some 40 MB a process, 5,000 attempts of 20 questions.
_known_items = _KnownItems(size=100_000)


# AttemptItem.position is a small integer: a position beyond it names no question (and would not fit SQLite's
# integer parameters).
_MAX_POSITION = 32767


class _BackendSQL:
    """Statements written in SQL for one database backend, built once per connection alias from the models'
    metadata (for_connection)."""

    _built: dict

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._built = {}

    @classmethod
    def for_connection(cls, connection):
        key = (connection.alias, connection.vendor)
        built = cls._built.get(key)
        if built is None:
            built = cls._built[key] = cls(connection)
        return built

    @staticmethod
    def names(connection):
        """quote(name); column(model, field name, alias) and table(model, alias), quoted for the backend."""
        quote = connection.ops.quote_name

        def column(model, name: str, alias: str) -> str:
            return f"{alias}.{quote(model._meta.get_field(name).column)}"

        def table(model, alias: str) -> str:
            return f"{quote(model._meta.db_table)} {alias}"

        return quote, column, table

    @staticmethod
    def converters(connection, field) -> list:
        """The (converter, column) pairs the ORM applies to `field`'s values as read from the database."""
        col = field.get_col(field.model._meta.db_table)
        return [
            (converter, col)
            for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        ]

    @staticmethod
    def converted(connection, value, converters: list):
        for converter, col in converters:
            value = converter(value, col, connection)
        return value

    @classmethod
    def field_converters(cls, connection, fields) -> list[list]:
        """converters() of each field, in order."""
        return [cls.converters(connection, field) for field in fields]

    @classmethod
    def instance(cls, connection, model, fields, converters: list[list], row):
        """An instance of `model` from the values of `fields` in `row`, converted as the ORM reads them."""
        values = [
            cls.converted(connection, value, field_converters)
            for value, field_converters in zip(row, converters, strict=True)
        ]
        return model.from_db(connection.alias, [field.attname for field in fields], values)


class _AnswerSQL(_BackendSQL):
    """The statements of attempt_answer for one database backend, built once from the models' metadata.

    The select reads the item at (attempt, position), its question version's marking fields, whether the
    attempt is submitted or past its deadline, and the quiz's review rule; the owner's condition is part of
    it. In a transaction it locks the attempt's row and the item's (PostgreSQL: FOR UPDATE OF both, so that
    a second answer to the same question waits for the first and then sees it; SQLite: the transaction
    begins IMMEDIATE, settings.py). The update writes the answer. The conditional update (PostgreSQL)
    writes it only while the attempt is open and, when asked, the item unanswered, in one statement that
    share-locks the attempt's row: a submission's lock waits for it, or it waits for the submission's and
    then finds the attempt submitted; a second answer to the same item waits for the first's and then
    checks the item again. Only quoted table and column names from the models go into the text; every
    value is a parameter, adapted by its field for the caller's connection as the ORM's would be."""

    def __init__(self, connection) -> None:
        quote, column, table = self.names(connection)
        item = lambda name: column(AttemptItem, name, "i")  # noqa: E731
        attempt = lambda name: column(Attempt, name, "a")  # noqa: E731
        version = lambda name: column(QuestionVersion, name, "v")  # noqa: E731
        columns = (
            f"{item('id')}, {item('version')}, {item('option_order')}, {item('answered_at')} IS NOT NULL, "
            f"{version('type')}, {version('correct')}, {version('partial_credit')}, "
            f"{attempt('submitted_at')} IS NOT NULL, "
            f"({attempt('deadline')} IS NOT NULL AND {attempt('deadline')} <= %s), "
            f"{column(Quiz, 'review', 'q')}"
        )
        joins = (
            f"JOIN {table(Attempt, 'a')} ON {attempt('id')} = {item('attempt')} "
            f"JOIN {table(QuestionVersion, 'v')} ON {version('id')} = {item('version')} "
            f"JOIN {table(Quiz, 'q')} ON {column(Quiz, 'id', 'q')} = {attempt('quiz')}"
        )
        where = f"{item('attempt')} = %s AND {item('position')} = %s"
        self._select = f"SELECT {columns} FROM {table(AttemptItem, 'i')} {joins} WHERE {where}"  # noqa: S608
        self._owner = _OwnerSQL(connection)
        self._lock = " FOR UPDATE OF a, i" if connection.features.has_select_for_update_of else ""
        self._fields = {
            name: AttemptItem._meta.get_field(name) for name in ("selected", "answered_at", "score")
        }
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in self._fields.values())
        where = f"{quote(AttemptItem._meta.pk.column)} = %s"
        self._update = f"UPDATE {quote(AttemptItem._meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608
        # PostgreSQL: the write that applies only while the attempt is open, share-locking the attempt's row
        # (a submission's FOR UPDATE waits for it, and it waits for a submission's, then sees it submitted).
        self.conditional_write = connection.vendor == "postgresql"
        open_attempt = (
            f"SELECT {attempt('id')} FROM {table(Attempt, 'a')} "  # noqa: S608 - names from the models
            f"WHERE {attempt('id')} = %s AND {attempt('submitted_at')} IS NULL "
            f"AND ({attempt('deadline')} IS NULL OR {attempt('deadline')} > %s) FOR SHARE"
        )
        self._conditional_update = (
            f"UPDATE {table(AttemptItem, 'i')} SET {assignments} FROM ({open_attempt}) o "  # noqa: S608
            f"WHERE {item('id')} = %s AND {item('attempt')} = o.{quote(Attempt._meta.pk.column)}"
        )
        self._unanswered = f" AND {item('answered_at')} IS NULL"
        # The same write, applying only where the quiz does not show the right answer at once.
        open_not_revealing = (
            f"SELECT {attempt('id')} FROM {table(Attempt, 'a')} "  # noqa: S608 - names from the models
            f"JOIN {table(Quiz, 'q')} ON {column(Quiz, 'id', 'q')} = {attempt('quiz')} "
            f"WHERE {attempt('id')} = %s AND {attempt('submitted_at')} IS NULL "
            f"AND ({attempt('deadline')} IS NULL OR {attempt('deadline')} > %s) "
            f"AND {column(Quiz, 'review', 'q')} <> %s "
            # The question version still marks as the process knows it (_KnownItems), should anyone have
            # edited a version already shown.
            f"AND EXISTS (SELECT 1 FROM {table(QuestionVersion, 'v')} WHERE {version('id')} = %s "
            f"AND {version('type')} = %s AND {version('correct')} = %s AND {version('partial_credit')} = %s) "
            "FOR SHARE OF a"
        )
        self._conditional_update_unless_revealing = (
            f"UPDATE {table(AttemptItem, 'i')} SET {assignments} FROM ({open_not_revealing}) o "  # noqa: S608
            f"WHERE {item('id')} = %s AND {item('attempt')} = o.{quote(Attempt._meta.pk.column)} "
            f"AND {item('version')} = %s"
        )
        # Every item of an attempt with its marking facts (_KnownItems).
        self._items = (
            f"SELECT {item('position')}, {item('id')}, {item('version')}, {item('option_order')}, "  # noqa: S608
            f"{version('type')}, {version('correct')}, {version('partial_credit')} "
            f"FROM {table(AttemptItem, 'i')} JOIN {table(QuestionVersion, 'v')} ON {version('id')} = "
            f"{item('version')} WHERE {item('attempt')} = %s"
        )
        self._option_order_converters = self.converters(
            connection, AttemptItem._meta.get_field("option_order")
        )
        # A question version whole, as the ORM reads it (the feedback of a quiz that reveals at once).
        self._version_fields = QuestionVersion._meta.concrete_fields
        self._version_converters = self.field_converters(connection, self._version_fields)
        version_columns = ", ".join(quote(field.column) for field in self._version_fields)
        self._version = (
            f"SELECT {version_columns} FROM {quote(QuestionVersion._meta.db_table)} "  # noqa: S608
            f"WHERE {quote(QuestionVersion._meta.pk.column)} = %s"
        )
        self._correct_field = QuestionVersion._meta.get_field("correct")
        self._correct_converters = self.converters(connection, self._correct_field)

    def select(self, connection, given: "_Given", *, lock: bool = False) -> tuple[str, list]:
        params = [
            connection.ops.adapt_datetimefield_value(given.now),
            Attempt._meta.pk.get_db_prep_value(given.attempt_id, connection),
            given.position,
        ]
        condition, owner_params = self._owner.condition(given.owner)
        return self._select + condition + (self._lock if lock else ""), params + owner_params

    def update(
        self,
        connection,
        given: "_Given",
        answer: "_CheckedAnswer",
        *,
        conditional: bool = False,
        known: "_ItemFacts | None" = None,
    ) -> tuple[str, list]:
        """The write of `answer`; `conditional`: only while the attempt is open (and, where the quiz reveals
        at once, the item unanswered); with the `known` facts it was marked by, only where the quiz does not
        reveal at once and the item's question version is still as known."""
        values = {"selected": answer.chosen, "answered_at": given.now, "score": answer.score}
        params = [field.get_db_prep_save(values[name], connection) for name, field in self._fields.items()]
        if not conditional:
            return self._update, [*params, answer.item_id]
        params += [
            Attempt._meta.pk.get_db_prep_value(given.attempt_id, connection),
            connection.ops.adapt_datetimefield_value(given.now),
        ]
        if known is not None:
            params += [
                Quiz.Review.AFTER_EACH.value,
                known.version_id,
                known.kind,
                self._correct_field.get_db_prep_value(list(known.correct), connection),
                known.partial_credit,
                answer.item_id,
                known.version_id,
            ]
            return self._conditional_update_unless_revealing, params
        params.append(answer.item_id)
        return self._conditional_update + (self._unanswered if answer.reveal else ""), params

    def version(self, connection, *, version_id) -> tuple[str, list]:
        return self._version, [QuestionVersion._meta.pk.get_db_prep_value(version_id, connection)]

    def version_from_row(self, connection, row) -> QuestionVersion:
        return self.instance(connection, QuestionVersion, self._version_fields, self._version_converters, row)

    def items(self, connection, *, attempt_id) -> tuple[str, list]:
        return self._items, [Attempt._meta.pk.get_db_prep_value(attempt_id, connection)]

    def item_facts(
        self, connection, item_id, version_id, option_order, kind, correct, partial_credit
    ) -> "_ItemFacts":
        """The facts of an item from its columns as the cursor gives them (select and items read them)."""
        return _ItemFacts(
            item_id=item_id,
            version_id=version_id,
            shown=tuple(self.option_order(connection, option_order)),
            kind=kind,
            correct=tuple(self.correct(connection, correct)),
            partial_credit=bool(partial_credit),
        )

    def option_order(self, connection, value) -> list[int]:
        """JSON columns come from the cursor as text (on PostgreSQL as Django sets psycopg up)."""
        return self.converted(connection, value, self._option_order_converters)

    def correct(self, connection, value) -> list[int]:
        return self.converted(connection, value, self._correct_converters)


def attempt_submit(*, attempt: Attempt, now: datetime) -> Attempt:
    """Score and close the attempt. Of two simultaneous submissions the second waits for the first and then
    finds the attempt closed: it is scored once."""
    locked = attempt_submit_owned(attempt_id=attempt.pk, owner=TOKEN_HOLDER, now=now)
    if locked is None:
        raise Attempt.DoesNotExist(f"attempt {attempt.pk} is gone")
    return locked


def attempt_submit_owned(*, attempt_id, owner: AttemptOwner, now: datetime) -> Attempt | None:
    """Submit the attempt if `owner` may (AttemptOwner: the request's user or guest key, or TOKEN_HOLDER for a
    caller that checked already); None when there is no such attempt of theirs.

    One locking query finds the attempt, its quiz and whether the quiz belongs to a second-classroom term;
    only the attempt's row is locked (a submission never waits for another attempt's at the same quiz).
    The score is summed by a statement of its own after the lock is held, so that it sees every answer
    committed before: an answer saved while the submission waited for the lock is in the score
    (attempt_answer locks the attempt's row too).

    Submitting is the other hot path of a quiz (everyone hands in at the bell), so its statements are written
    in SQL as the answer's are (_SubmitSQL): building them through the ORM cost more CPU than running them.
    On PostgreSQL, outside a transaction, the same statements go to the server in two round trips instead
    of five (_submit_in_two_round_trips). tests/quizzes/test_answer_sql.py holds both ways to the ORM's
    meaning."""
    sql = _SubmitSQL.for_connection(connection)
    if sql.two_round_trips and not connection.in_atomic_block and connection.get_autocommit():
        done, locked = _submit_in_two_round_trips(sql, attempt_id=attempt_id, owner=owner, now=now)
        if done:
            return locked
    with transaction.atomic():
        locked = _locked_for_closing(attempt_id=attempt_id, owner=owner)
        if locked is not None and not locked.is_submitted:
            _score_and_close(locked, now=now)
    return locked


def _submit_in_two_round_trips(sql: "_SubmitSQL", *, attempt_id, owner: AttemptOwner, now: datetime):
    """PostgreSQL, with the connection in autocommit: the transaction of attempt_submit_owned written out.
    The first round trip begins it, locks and reads the attempt, then sums the score by a second statement
    (which, under READ COMMITTED, sees every answer committed before the lock was granted); the second
    writes the close and commits. Returns (done, the attempt or None). Not done, and rolled back, for an
    open attempt whose quiz is a lesson's or a term's final exam: its progress row changes in the same
    transaction through the ORM, which the caller's atomic block carries. A failure rolls back."""
    with connection.cursor() as cursor:
        try:
            cursor.execute(*sql.begin_lock_and_total(connection, attempt_id=attempt_id, owner=owner))
            cursor.nextset()  # past BEGIN's result, to the locked attempt's
            row = cursor.fetchone()
            cursor.nextset()
            total = cursor.fetchone()[0]
            locked = None if row is None else sql.attempt(connection, row)
            done = locked is None or locked.is_submitted  # nothing to write
            if done or locked.in_term:
                cursor.execute("ROLLBACK")
                return done, locked
            _set_close(locked, total=sql.score(connection, total), now=now)
            cursor.execute(*sql.close_and_commit(connection, attempt=locked))
        except BaseException:
            with contextlib.suppress(Exception):
                cursor.execute("ROLLBACK")
            raise
    # Committed: what transaction.on_commit would run now.
    signals.attempt_submitted.send(sender=Attempt, attempt=locked)
    return True, locked


async def attempt_submit_on_loop(*, attempt_id, now: datetime):
    """attempt_submit_owned for the holder of the attempt's answer token, on the event loop: the attempt,
    submitted now or before; eventloop.FALLBACK, having written nothing, for no such attempt and for an
    attempt whose quiz is a lesson's or a term's final exam (its progress changes through the ORM in the
    same transaction). Raises loopdb.Busy when the loop cannot have the database now. PostgreSQL:
    _submit_in_two_round_trips's round trips, awaited; SQLite: its transaction under the process's write
    lock (loopdb waits for it on the loop). The attempt_submitted signal is sent after the commit, on the
    loop where its receivers say they touch no database (eventloop.send_on_loop), else on a thread."""
    from edu import eventloop, loopdb

    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: its proxy looks it up at every use
    sql = _SubmitSQL.for_connection(connection)
    async with loopdb.connection() as db:
        if sql.two_round_trips:
            await db.execute_several(
                *sql.begin_lock_and_total(connection, attempt_id=attempt_id, owner=TOKEN_HOLDER)
            )
            db.nextset()  # past BEGIN's result, to the locked attempt's
            row = await db.fetchone()
            db.nextset()
            total = (await db.fetchone())[0]
        else:
            await db.begin()
            await db.execute(*sql.select(connection, attempt_id=attempt_id, owner=TOKEN_HOLDER))
            row = await db.fetchone()
            total = None
        locked = None if row is None else sql.attempt(connection, row)
        if locked is None or locked.in_term:
            await db.rollback()
            return eventloop.FALLBACK
        if locked.is_submitted:
            await db.rollback()
            return locked
        if not sql.two_round_trips:
            await db.execute(*sql.total(connection, attempt_id=locked.pk))
            total = (await db.fetchone())[0]
        _set_close(locked, total=sql.score(connection, total), now=now)
        if sql.two_round_trips:
            await db.execute_several(*sql.close_and_commit(connection, attempt=locked))
        else:
            await db.execute(*sql.close(connection, attempt=locked))
            await db.commit()
    try:
        await eventloop.send_on_loop(signals.attempt_submitted, sender=Attempt, attempt=locked)
    except Exception:
        # Committed: the student's submission stands; the statistics catch up (refresh_stats).
        logger.exception("attempt_submitted after attempt %s was submitted on the event loop", locked.pk)
    return locked


def _locked_for_closing(*, attempt_id, owner: AttemptOwner) -> Attempt | None:
    """The attempt with its quiz, and whether the quiz is a lesson's or a term's final exam (`in_term`), its
    row locked; None if there is no such attempt of the owner's. Inside a transaction."""
    sql = _SubmitSQL.for_connection(connection)
    with connection.cursor() as cursor:
        cursor.execute(*sql.select(connection, attempt_id=attempt_id, owner=owner))
        row = cursor.fetchone()
    return None if row is None else sql.attempt(connection, row)


def _set_close(locked: Attempt, *, total: Decimal, now: datetime) -> None:
    """The score, the verdict and the time of closing, on the instance."""
    locked.score = total.quantize(Decimal("0.01"))
    locked.passed = marking.passed(
        score=locked.score, max_score=locked.max_score, pass_mark_percent=locked.quiz.pass_mark
    )
    locked.submitted_at = min(now, locked.deadline) if locked.deadline else now


def _score_and_close(locked: Attempt, *, now: datetime) -> None:
    """Inside the transaction that holds the attempt's row lock; `locked` as _locked_for_closing reads it."""
    sql = _SubmitSQL.for_connection(connection)
    with connection.cursor() as cursor:
        cursor.execute(*sql.total(connection, attempt_id=locked.pk))
        _set_close(locked, total=sql.score(connection, cursor.fetchone()[0]), now=now)
        cursor.execute(*sql.close(connection, attempt=locked))
    transaction.on_commit(lambda: signals.attempt_submitted.send(sender=Attempt, attempt=locked))
    if locked.user_id and locked.school_class_id and locked.in_term:
        # A student's attempt may finish a second-classroom lesson or be a term's final exam: the progress
        # row changes in this same transaction.
        from campaigns.lessons import progress_attempt_submitted

        progress_attempt_submitted(attempt=locked, now=now)


class _OwnerSQL:
    """The owner's condition on an attempt aliased `a` (AttemptOwner.q in SQL): "" for a token holder."""

    def __init__(self, connection) -> None:
        quote = connection.ops.quote_name
        user = f"a.{quote(Attempt._meta.get_field('user').column)}"
        guest_key = f"a.{quote(Attempt._meta.get_field('guest_key').column)}"
        self._user = f" AND {user} = %s"
        self._guest = f" AND {user} IS NULL AND {guest_key} = %s"
        self._either = f" AND ({user} = %s OR ({user} IS NULL AND {guest_key} = %s))"

    def condition(self, owner: AttemptOwner) -> tuple[str, list]:
        if owner.token_holder:
            return "", []
        if owner.user_id is not None and owner.guest_key:
            return self._either, [owner.user_id, owner.guest_key]
        if owner.user_id is not None:
            return self._user, [owner.user_id]
        if owner.guest_key:
            return self._guest, [owner.guest_key]
        return " AND 1 = 0", []


class _SubmitSQL(_BackendSQL):
    """The statements of a submission for one database backend, built once from the models' metadata.

    The select reads every column of the attempt and of its quiz, as select_related("quiz") would, and
    whether a lesson or a term's final exam uses the quiz, locking the attempt's row only (PostgreSQL: FOR
    UPDATE OF the attempt; SQLite: the transaction begins IMMEDIATE, settings.py); the owner's condition is
    part of it. Its values go through the fields' converters, as the ORM's would. The total sums the items'
    scores; the close writes the score, the verdict and the time. Only quoted table and column names from
    the models go into the text; every value is a parameter, adapted by its field."""

    def __init__(self, connection) -> None:
        from campaigns.models import Lesson, TermExam

        quote, column, table = self.names(connection)

        self._attempt_fields = Attempt._meta.concrete_fields
        self._quiz_fields = Quiz._meta.concrete_fields
        self._converters = self.field_converters(connection, (*self._attempt_fields, *self._quiz_fields))
        columns = ", ".join(
            [f"a.{quote(field.column)}" for field in self._attempt_fields]
            + [f"q.{quote(field.column)}" for field in self._quiz_fields]
        )
        in_term = " OR ".join(
            f"EXISTS (SELECT 1 FROM {table(model, 'u')} WHERE {column(model, 'quiz', 'u')} = "  # noqa: S608
            f"{column(Attempt, 'quiz', 'a')})"
            for model in (Lesson, TermExam)
        )
        self._select = (
            f"SELECT {columns}, ({in_term}) FROM {table(Attempt, 'a')} "  # noqa: S608 - names from the models
            f"JOIN {table(Quiz, 'q')} ON {column(Quiz, 'id', 'q')} = {column(Attempt, 'quiz', 'a')} "
            f"WHERE {column(Attempt, 'id', 'a')} = %s"
        )
        self._owner = _OwnerSQL(connection)
        self._lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
        score = AttemptItem._meta.get_field("score")
        self._score_converters = self.converters(connection, score)
        self._total = (
            f"SELECT SUM({quote(score.column)}) FROM {quote(AttemptItem._meta.db_table)} "  # noqa: S608
            f"WHERE {quote(AttemptItem._meta.get_field('attempt').column)} = %s"
        )
        # PostgreSQL with client-side binding (Django's default): several statements in one query.
        self.two_round_trips = connection.vendor == "postgresql" and not connection.settings_dict.get(
            "OPTIONS", {}
        ).get("server_side_binding")
        self._close_fields = [Attempt._meta.get_field(name) for name in ("score", "passed", "submitted_at")]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in self._close_fields)
        self._close = (
            f"UPDATE {quote(Attempt._meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {quote(Attempt._meta.pk.column)} = %s"
        )

    def select(self, connection, *, attempt_id, owner: AttemptOwner) -> tuple[str, list]:
        condition, owner_params = self._owner.condition(owner)
        params = [Attempt._meta.pk.get_db_prep_value(attempt_id, connection), *owner_params]
        return self._select + condition + self._lock, params

    def attempt(self, connection, row) -> Attempt:
        split = len(self._attempt_fields)
        attempt = self.instance(
            connection, Attempt, self._attempt_fields, self._converters[:split], row[:split]
        )
        quiz = self.instance(
            connection,
            Quiz,
            self._quiz_fields,
            self._converters[split:],
            row[split:-1],  # then in_term
        )
        Attempt._meta.get_field("quiz").set_cached_value(attempt, quiz)
        attempt.in_term = bool(row[-1])
        return attempt

    def total(self, connection, *, attempt_id) -> tuple[str, list]:
        return self._total, [Attempt._meta.pk.get_db_prep_value(attempt_id, connection)]

    def score(self, connection, value) -> Decimal:
        return Decimal(0) if value is None else self.converted(connection, value, self._score_converters)

    def begin_lock_and_total(self, connection, *, attempt_id, owner: AttemptOwner) -> tuple[str, list]:
        select, params = self.select(connection, attempt_id=attempt_id, owner=owner)
        total, total_params = self.total(connection, attempt_id=attempt_id)
        return f"BEGIN; {select}; {total}", params + total_params

    def close_and_commit(self, connection, *, attempt: Attempt) -> tuple[str, list]:
        close, params = self.close(connection, attempt=attempt)
        return f"{close}; COMMIT", params

    def close(self, connection, *, attempt: Attempt) -> tuple[str, list]:
        params = [f.get_db_prep_save(getattr(attempt, f.attname), connection) for f in self._close_fields]
        return self._close, [*params, Attempt._meta.pk.get_db_prep_value(attempt.pk, connection)]


def attempt_close_if_expired(*, attempt: Attempt, now: datetime) -> Attempt:
    """After the time limit the attempt closes with what was saved, whenever anyone next looks at it."""
    if not attempt.is_submitted and attempt.deadline and now >= attempt.deadline:
        return attempt_submit(attempt=attempt, now=now)
    return attempt

"""Saving an answer and submitting an attempt are written in SQL (quizzes/services._AnswerSQL and
_SubmitSQL): these tests hold them to what the ORM would mean, on SQLite and on PostgreSQL alike: the
marking, the owner's condition, the deadline, what a submission reads and writes, and the race of answers
with a submission."""

import itertools
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from quizzes import marking, services
from quizzes.access import TOKEN_HOLDER, AttemptOwner
from quizzes.models import Attempt, AttemptItem, Quiz, QuizQuestion
from tests.quizzes.conftest import make_question


def quiz_of(questions, **fields) -> Quiz:
    fields = {"title": "测验", "access": Quiz.Access.LINK, "is_published": True, "max_attempts": 0} | fields
    quiz = Quiz.objects.create(**fields)
    QuizQuestion.objects.bulk_create(
        QuizQuestion(quiz=quiz, question=question, position=position)
        for position, question in enumerate(questions)
    )
    return quiz


@pytest.fixture
def kinds(db):
    return [
        make_question(1),
        make_question(2, kind="true_false", correct=("A",)),
        make_question(3, kind="multiple", correct=("A", "C")),
        make_question(4, kind="multiple", correct=("A", "C", "D")),
    ]


def test_the_sql_marks_every_kind_as_the_marking_rules_do(world, kinds):
    partial = kinds[3].current_version
    type(partial).objects.filter(pk=partial.pk).update(partial_credit=True)
    quiz = quiz_of(kinds, shuffle_options=True)
    owner = AttemptOwner(user_id=world.student.pk)
    checked, scores = 0, set()
    for item in services.attempt_start(
        quiz=quiz, user=world.student, now=timezone.now()
    ).items.select_related("version"):
        shown = range(len(item.option_order))
        single = item.version.type != "multiple"
        choices = (
            [[i] for i in shown]
            if single
            else [list(c) for n in (1, 2, 3) for c in itertools.combinations(shown, n)]
        )
        for selected in choices:
            saved = services.attempt_answer(
                attempt_id=item.attempt_id,
                owner=owner,
                position=item.position,
                selected=selected,
                now=timezone.now(),
            )
            stored = AttemptItem.objects.get(pk=item.pk)
            expected = marking.mark(
                kind=item.version.type,
                correct=item.version.correct,
                selected=[item.option_order[i] for i in selected],
                partial_credit=item.version.partial_credit,
            )
            assert stored.selected == sorted(item.option_order[i] for i in selected) == saved.item.selected
            assert (
                stored.score == expected == saved.item.score and stored.answered_at == saved.item.answered_at
            )
            checked += 1
            scores.add(stored.score)
    assert checked == 4 + 2 + 2 * (4 + 6 + 4)
    assert Decimal("0.333") in scores  # one of three right options, with partial credit


def test_the_owner_condition(world, kinds):
    quiz = quiz_of(kinds[:1])
    now = timezone.now()
    mine = services.attempt_start(quiz=quiz, user=world.student, now=now)
    guests = services.attempt_start(quiz=quiz, user=None, guest_key="key-1", guest_name="路人", now=now)

    def outcome(attempt, owner):
        try:
            services.attempt_answer(attempt_id=attempt.pk, owner=owner, position=0, selected=[0], now=now)
        except services.QuizError as error:
            return error.code
        return "saved"

    assert outcome(mine, AttemptOwner(user_id=world.student.pk)) == "saved"
    assert outcome(mine, AttemptOwner(user_id=world.student.pk, guest_key="key-1")) == "saved"
    assert outcome(guests, AttemptOwner(user_id=world.student.pk, guest_key="key-1")) == "saved"
    assert outcome(guests, AttemptOwner(guest_key="key-1")) == "saved"
    assert outcome(guests, TOKEN_HOLDER) == "saved"
    assert outcome(mine, AttemptOwner(user_id=world.teacher_a.pk)) == "no_such_attempt"
    assert (
        outcome(mine, AttemptOwner(guest_key="key-1")) == "no_such_attempt"
    )  # a user's attempt has no guest
    assert outcome(guests, AttemptOwner(user_id=world.student.pk)) == "no_such_attempt"
    assert outcome(guests, AttemptOwner(guest_key="key-2")) == "no_such_attempt"
    assert outcome(mine, AttemptOwner()) == "no_such_attempt"
    with pytest.raises(ValueError):
        TOKEN_HOLDER.q()


def race(*, quiz: Quiz, user, positions: int, submit_first: int) -> tuple[Attempt, dict[int, str]]:
    """Answer every position, each in a thread of its own, and submit in another, all let go at once."""
    attempt = services.attempt_start(quiz=quiz, user=user, now=timezone.now())
    owner = AttemptOwner(user_id=user.pk)
    barrier = threading.Barrier(positions + 1)
    outcomes: dict[int, str] = {}

    def answer(position: int) -> None:
        barrier.wait()
        try:
            services.attempt_answer(
                attempt_id=attempt.pk, owner=owner, position=position, selected=[1], now=timezone.now()
            )
            outcomes[position] = "saved"
        except services.QuizError as error:
            outcomes[position] = error.code
        finally:
            connection.close()

    def submit() -> None:
        barrier.wait()
        try:
            services.attempt_submit(attempt=Attempt.objects.get(pk=attempt.pk), now=timezone.now())
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(position,)) for position in range(positions)]
    threads.insert(submit_first, threading.Thread(target=submit))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    attempt.refresh_from_db()
    return attempt, outcomes


@pytest.mark.django_db(transaction=True)
def test_answers_racing_a_submission_are_counted_or_refused(world, kinds):
    """Every answer that reports "saved" is in the submitted score; every later one is refused, and changes
    nothing: the submission and the answers never interleave."""
    questions = [make_question(10 + n) for n in range(12)]
    quiz = quiz_of(questions, shuffle_options=False)
    for submit_first in (0, 5, 12):
        attempt, outcomes = race(
            quiz=quiz, user=world.student, positions=len(questions), submit_first=submit_first
        )
        assert attempt.is_submitted and set(outcomes.values()) <= {"saved", "attempt_closed"}
        saved = {position for position, outcome in outcomes.items() if outcome == "saved"}
        stored = {item.position: item for item in attempt.items.all()}
        assert {p for p, item in stored.items() if item.answered_at is not None} == saved
        assert attempt.score == sum((item.score or 0) for item in stored.values()) == len(saved)


def test_the_submission_reads_the_attempt_and_its_quiz_as_the_orm_does(world, kinds):
    """Every field of the attempt and of its quiz, converted as the ORM converts them (times, ids, decimals,
    JSON), and whether a lesson or a term's final exam uses the quiz."""
    from campaigns.models import TermExam
    from tests.campaigns.test_lessons import lesson, make_quiz, term_with_school

    quiz = quiz_of(kinds, time_limit_minutes=10, pass_mark=70, shuffle_options=True)
    term = term_with_school(world)
    in_lesson = make_quiz(world, term, title="一课")
    lesson(term, quiz=in_lesson)
    final = make_quiz(world, term, title="期末")
    TermExam.objects.create(term=term, grade=7, quiz=final)
    now = timezone.now()
    for each, in_term in ((quiz, False), (in_lesson, True), (final, True)):
        attempt = services.attempt_start(quiz=each, user=world.student, now=now)
        with transaction.atomic():
            read = services._locked_for_closing(attempt_id=attempt.pk, owner=TOKEN_HOLDER)
        expected = Attempt.objects.select_related("quiz").get(pk=attempt.pk)
        for model, got, want in ((Attempt, read, expected), (Quiz, read.quiz, expected.quiz)):
            for field in model._meta.concrete_fields:
                value = getattr(got, field.attname)
                assert value == getattr(want, field.attname), field.name
                assert type(value) is type(getattr(want, field.attname)), field.name
        assert read.in_term is in_term
        assert read._state.db == expected._state.db and not read._state.adding


def test_the_submission_scores_as_the_orm_sums(world, kinds):
    """Partial credit leaves thirds in the items' scores: the submitted score is their sum to two places
    (1 + 1 + 0.667 = 2.67 of 4), and the verdict is the marking rule's on either side of the pass mark."""
    partial = kinds[3].current_version
    type(partial).objects.filter(pk=partial.pk).update(partial_credit=True)
    now = timezone.now()
    for pass_mark, passed in ((66, True), (67, False)):
        quiz = quiz_of(kinds, pass_mark=pass_mark, shuffle_questions=False, shuffle_options=False)
        attempt = services.attempt_start(quiz=quiz, user=world.student, now=now)
        owner = AttemptOwner(user_id=world.student.pk)
        for position, selected in ((0, [1]), (1, [0]), (3, [0, 2])):  # right, right, two of three
            services.attempt_answer(
                attempt_id=attempt.pk, owner=owner, position=position, selected=selected, now=now
            )
        assert services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=now) is not None
        attempt.refresh_from_db()
        total = sum(item.score or 0 for item in attempt.items.all())
        assert attempt.score == total.quantize(Decimal("0.01")) == Decimal("2.67")
        assert (
            attempt.passed
            is passed
            is marking.passed(score=attempt.score, max_score=attempt.max_score, pass_mark_percent=pass_mark)
        )
        assert attempt.submitted_at == now


def test_the_submission_owner_condition(world, kinds):
    quiz = quiz_of(kinds[:1])
    now = timezone.now()
    mine = services.attempt_start(quiz=quiz, user=world.student, now=now)
    guests = services.attempt_start(quiz=quiz, user=None, guest_key="key-1", guest_name="路人", now=now)
    refused = [
        (mine, AttemptOwner(user_id=world.teacher_a.pk)),
        (mine, AttemptOwner(guest_key="key-1")),
        (mine, AttemptOwner()),
        (guests, AttemptOwner(user_id=world.student.pk)),
        (guests, AttemptOwner(guest_key="key-2")),
    ]
    for attempt, owner in refused:
        assert services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=now) is None
    assert not Attempt.objects.filter(submitted_at__isnull=False).exists()
    for attempt, owner in (
        (mine, AttemptOwner(user_id=world.student.pk, guest_key="key-9")),
        (guests, AttemptOwner(user_id=world.student.pk, guest_key="key-1")),
    ):
        assert services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=now).is_submitted
    assert Attempt.objects.filter(submitted_at__isnull=False).count() == 2


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the two-round-trip submission and the conditional answer are PostgreSQL's")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_postgresql_submits_in_two_round_trips(world, kinds, monkeypatch):
    """The same close as in a transaction: the score to two places, the verdict, the time; committed, and
    the signal sent after the commit."""
    from django.test.utils import CaptureQueriesContext

    from quizzes import signals

    postgres_only()
    partial = kinds[3].current_version
    type(partial).objects.filter(pk=partial.pk).update(partial_credit=True)
    quiz = quiz_of(kinds, pass_mark=66, shuffle_questions=False, shuffle_options=False)
    now = timezone.now()
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=now)
    owner = AttemptOwner(user_id=world.student.pk)
    for position, selected in ((0, [1]), (1, [0]), (3, [0, 2])):
        services.attempt_answer(
            attempt_id=attempt.pk, owner=owner, position=position, selected=selected, now=now
        )
    sent = []

    def receiver(sender, attempt, **kwargs):
        sent.append((attempt.pk, connection.connection.info.transaction_status))

    signals.attempt_submitted.connect(receiver)
    try:
        with CaptureQueriesContext(connection) as queries:
            submitted = services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=now)
    finally:
        signals.attempt_submitted.disconnect(receiver)
    # The submission's two, then the statistics' receivers (they refresh at once in the tests).
    own = [query["sql"] for query in queries.captured_queries[:2]]
    assert own[0].startswith("BEGIN; SELECT") and own[0].count("; SELECT") == 2
    assert own[1].startswith("UPDATE") and own[1].endswith("; COMMIT")
    assert sent == [(attempt.pk, 0)]  # after the commit: the connection idle
    stored = Attempt.objects.get(pk=attempt.pk)
    assert (stored.score, stored.passed, stored.submitted_at) == (Decimal("2.67"), True, now)
    assert (submitted.score, submitted.passed, submitted.submitted_at) == (Decimal("2.67"), True, now)
    # Again: nothing changes, in one round trip and a rollback.
    with CaptureQueriesContext(connection) as queries:
        again = services.attempt_submit_owned(
            attempt_id=attempt.pk, owner=owner, now=now + timedelta(minutes=1)
        )
    assert again.submitted_at == now and len(queries.captured_queries) == 2
    assert Attempt.objects.get(pk=attempt.pk).submitted_at == now


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_postgresql_refuses_others_and_leaves_no_transaction(world, kinds):
    postgres_only()
    quiz = quiz_of(kinds[:1])
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    for owner in (AttemptOwner(user_id=world.teacher_a.pk), AttemptOwner(guest_key="key-1"), AttemptOwner()):
        assert services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=timezone.now()) is None
        assert connection.connection.info.transaction_status == 0  # idle: nothing left open or locked
    assert Attempt.objects.get(pk=attempt.pk).submitted_at is None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_postgresql_rolls_back_a_failed_submission(world, kinds, monkeypatch):
    postgres_only()
    quiz = quiz_of(kinds[:1])
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    monkeypatch.setattr(
        services._SubmitSQL, "close_and_commit", lambda self, connection, attempt: ("SELECT 1/0; COMMIT", [])
    )
    with pytest.raises(Exception, match="division by zero"):
        services.attempt_submit_owned(attempt_id=attempt.pk, owner=TOKEN_HOLDER, now=timezone.now())
    assert connection.connection.info.transaction_status == 0
    assert Attempt.objects.get(pk=attempt.pk).submitted_at is None
    monkeypatch.undo()
    assert services.attempt_submit_owned(
        attempt_id=attempt.pk, owner=TOKEN_HOLDER, now=timezone.now()
    ).is_submitted


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_lesson_quiz_is_submitted_with_its_progress(world):
    """A lesson's quiz changes the student's progress row in the submission's transaction: on PostgreSQL the
    two-round-trip way steps aside for it."""
    from campaigns.models import StudentProgress
    from tests.campaigns.test_lessons import lesson, make_quiz, term_with_school

    term = term_with_school(world)
    quiz = make_quiz(world, term, questions=1)
    lesson(term, quiz=quiz)
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    submitted = services.attempt_submit_owned(
        attempt_id=attempt.pk, owner=AttemptOwner(user_id=world.student.pk), now=timezone.now()
    )
    assert submitted.is_submitted and submitted.in_term
    assert StudentProgress.objects.filter(term=term, user=world.student).exists()


@pytest.mark.django_db(transaction=True)
def test_postgresql_answers_by_a_conditional_write(world, kinds, monkeypatch):
    """Two statements and no transaction; a write that no longer applies (the attempt handed in, or the
    question answered where the quiz reveals at once, between the read and the write) is settled by the
    transaction: refused, and nothing written."""
    from django.test.utils import CaptureQueriesContext

    postgres_only()
    now = timezone.now()
    owner = AttemptOwner(user_id=world.student.pk)
    quiz = quiz_of(kinds[:2], shuffle_questions=False)
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=now)
    with CaptureQueriesContext(connection) as queries:
        services.attempt_answer(attempt_id=attempt.pk, owner=owner, position=0, selected=[1], now=now)
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT", "UPDATE"]

    checked = services._checked_answer

    def meanwhile(action):
        def checked_then(*args, **kwargs):
            answer = checked(*args, **kwargs)
            action()
            return answer

        monkeypatch.setattr(services, "_checked_answer", checked_then)

    meanwhile(lambda: services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=now))
    with pytest.raises(services.QuizError) as refused:
        services.attempt_answer(attempt_id=attempt.pk, owner=owner, position=1, selected=[0], now=now)
    assert refused.value.code == "attempt_closed"
    assert AttemptItem.objects.get(attempt=attempt, position=1).answered_at is None

    revealing = quiz_of(kinds[:1], review=Quiz.Review.AFTER_EACH)
    attempt = services.attempt_start(quiz=revealing, user=world.student, now=now)
    item = AttemptItem.objects.get(attempt=attempt, position=0)
    meanwhile(
        lambda: AttemptItem.objects.filter(pk=item.pk).update(selected=[0], answered_at=now, score=Decimal(0))
    )
    with pytest.raises(services.QuizError) as refused:
        services.attempt_answer(attempt_id=attempt.pk, owner=owner, position=0, selected=[1], now=now)
    assert refused.value.code == "already_answered"
    assert AttemptItem.objects.get(pk=item.pk).selected == [0]


@pytest.mark.django_db(transaction=True)
def test_inside_callers_transactions_answers_and_submissions_wait_for_each_other(world, kinds):
    """Two transactions of a caller that each answer and then submit the same attempt: the second waits for
    the first, then finds the attempt closed (no deadlock: inside a transaction an answer locks the attempt
    for update, as before, rather than sharing it to the transaction's end)."""
    quiz = quiz_of(kinds[:2], shuffle_questions=False, shuffle_options=False)
    attempt = services.attempt_start(quiz=quiz, user=world.student, now=timezone.now())
    owner = AttemptOwner(user_id=world.student.pk)
    first_answered, outcomes = threading.Event(), {}

    def run(name: str, position: int) -> None:
        try:
            with transaction.atomic():
                services.attempt_answer(
                    attempt_id=attempt.pk, owner=owner, position=position, selected=[1], now=timezone.now()
                )
                if name == "one":
                    first_answered.set()
                    time.sleep(0.5)  # the second comes while this transaction holds the attempt
                services.attempt_submit_owned(attempt_id=attempt.pk, owner=owner, now=timezone.now())
            outcomes[name] = "submitted"
        except services.QuizError as error:
            outcomes[name] = error.code
        except Exception as error:  # noqa: BLE001 - the outcome is the test's subject
            outcomes[name] = type(error).__name__
        finally:
            connection.close()

    one = threading.Thread(target=run, args=("one", 0))
    one.start()
    assert first_answered.wait(10)
    two = threading.Thread(target=run, args=("two", 1))
    two.start()
    one.join(20)
    two.join(20)
    assert outcomes == {"one": "submitted", "two": "attempt_closed"}
    attempt.refresh_from_db()
    assert attempt.is_submitted and attempt.score == 1

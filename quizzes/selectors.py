"""Reads of the bank and quizzes, scoped to the asking user: the one gate per resource.

`question_for_editor`, `quiz_for_manager`, `quiz_for_taker` and `attempt_for_taker` are the only places that
decide who may touch a question, a quiz or an attempt; views use nothing else.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from campaigns.models import Lesson, TermExam
from edu.models import User
from edu.selectors import ancestor_paths, home_region_path, user_school_id
from quizzes.access import AttemptOwner
from quizzes.models import Attempt, LiveContest, Question, Quiz


def is_bank_staff(user: User) -> bool:
    """Teachers, organisers and site admins keep the bank and set quizzes."""
    return user.is_authenticated and (user.is_superuser or user.is_teacher or user.is_organiser)


def _owned_by_user_q(user: User, *, prefix: str = "") -> Q:
    """What this user's scope owns: an organiser's region subtree, a teacher's school."""
    owned = Q(pk__in=[])
    if user.is_organiser and user.region_id:
        owned |= Q(**{f"{prefix}owner_region__path__startswith": user.region.path})
    if user.is_teacher and user.school_id:
        owned |= Q(**{f"{prefix}owner_school_id": user.school_id})
    return owned


def bank_questions_for_user(*, user: User) -> QuerySet[Question]:
    """The ready bank is shared by all staff; drafts and retired questions only where their owner is."""
    if not is_bank_staff(user):
        return Question.objects.none()
    if user.is_superuser:
        return Question.objects.all()
    return Question.objects.filter(Q(status=Question.Status.READY) | _owned_by_user_q(user))


def can_edit_question(*, user: User, question: Question) -> bool:
    if not is_bank_staff(user):
        return False
    if user.is_superuser:
        return True
    return Question.objects.filter(_owned_by_user_q(user), pk=question.pk).exists()


def question_for_viewer(*, user: User, pk: int) -> Question:
    question = (
        bank_questions_for_user(user=user).select_related("current_version", "category").filter(pk=pk).first()
    )
    if question is None:
        raise Http404("No such question.")
    return question


def question_for_editor(*, user: User, pk: int) -> Question:
    question = question_for_viewer(user=user, pk=pk)
    if not can_edit_question(user=user, question=question):
        raise PermissionDenied
    return question


def quizzes_managed(*, user: User) -> QuerySet[Quiz]:
    if not is_bank_staff(user):
        return Quiz.objects.none()
    if user.is_superuser:
        return Quiz.objects.all()
    return Quiz.objects.filter(_owned_by_user_q(user))


def quiz_for_manager(*, user: User, pk: int) -> Quiz:
    quiz = quizzes_managed(user=user).filter(pk=pk).first()
    if quiz is None:
        raise Http404("No such quiz.")
    return quiz


def may_take(*, user: User, quiz: Quiz) -> bool:
    """Who may sit a published quiz: by its access setting; its managers may always try it out."""
    if user.is_authenticated and quizzes_managed(user=user).filter(pk=quiz.pk).exists():
        return True
    if not quiz.is_published:
        return False
    if quiz.access == Quiz.Access.LINK:
        return True
    if not user.is_authenticated:
        return False
    if quiz.access == Quiz.Access.CAMPAIGN:
        # Everyone signed in whose school or region lies in the campaign's region; people with no school or
        # region (parents, the public) take part in a campaign wherever they are.
        path = home_region_path(user=user)
        return path is None or path.startswith(quiz.campaign.region.path)
    if quiz.access == Quiz.Access.SCHOOL:
        return user_school_id(user=user) == quiz.target_school_id
    if quiz.access == Quiz.Access.CLASS:
        return (user.is_student and user.school_class_id == quiz.target_class_id) or (
            user.is_teacher and user.school_id == quiz.target_class.school_id
        )
    return False


def quiz_for_taker(*, user: User, pk: int) -> Quiz:
    quiz = (
        Quiz.objects.select_related("campaign__region", "target_class", "target_school").filter(pk=pk).first()
    )
    if quiz is None or not may_take(user=user, quiz=quiz):
        raise Http404("No such quiz.")
    return quiz


def quizzes_open_for_user(*, user: User, limit: int = 10) -> list[Quiz]:
    """Published quizzes open now that reach a student: their class's, their school's, their campaigns'
    (but the second classroom's, which its path offers)."""
    if not user.is_authenticated:
        return []
    now = timezone.now()
    reach = Q(pk__in=[])
    if user.is_student and user.school_class_id:
        reach |= Q(access=Quiz.Access.CLASS, target_class_id=user.school_class_id)
        reach |= Q(access=Quiz.Access.SCHOOL, target_school_id=user.school_class.school_id)
    path = home_region_path(user=user)
    if path:
        reach |= Q(access=Quiz.Access.CAMPAIGN, campaign__region__path__in=ancestor_paths(path))
    quizzes = (
        Quiz.objects.filter(reach, is_published=True)
        .filter(Q(opens_at__isnull=True) | Q(opens_at__lte=now))
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
        # A second-classroom term's lesson quizzes and final exams are taken from the grade's path, in order.
        .exclude(pk__in=Lesson.objects.filter(quiz__isnull=False).values("quiz_id"))
        .exclude(pk__in=TermExam.objects.values("quiz_id"))
        .order_by("closes_at", "-created_at")
    )
    return list(quizzes[:limit])


def attempt_owner(*, request) -> AttemptOwner:
    """The one definition of whose attempts these are: the signed-in user's, or the guest attempts whose
    key this browser's session holds."""
    return AttemptOwner(
        user_id=request.user.pk if request.user.is_authenticated else None,
        guest_key=request.session.get("quiz_guest_key") or "",
    )


def attempt_for_taker(*, request, attempt_id) -> Attempt:
    """An attempt belongs to its user, or to the guest whose session holds its key; nobody else sees it."""
    attempt = (
        Attempt.objects.select_related("quiz")
        .filter(attempt_owner(request=request).q(), pk=attempt_id)
        .first()
    )
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt


def contest_for_host(*, user: User, pk: int) -> LiveContest | None:
    """The live contest a host screen may drive: its host's, or a manager's of its quiz; None otherwise."""
    if not user.is_authenticated:
        return None
    contest = LiveContest.objects.select_related("quiz").filter(pk=pk).first()
    if contest is None:
        return None
    if contest.host_id == user.pk or quizzes_managed(user=user).filter(pk=contest.quiz_id).exists():
        return contest
    return None


def contests_hosted(*, user: User) -> QuerySet[LiveContest]:
    if not is_bank_staff(user):
        return LiveContest.objects.none()
    return LiveContest.objects.filter(Q(host=user) | Q(quiz__in=quizzes_managed(user=user))).select_related(
        "quiz"
    )

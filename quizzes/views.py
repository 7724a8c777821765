"""Quiz pages: setting a quiz, taking it one question per screen, reviewing it, results and leaderboards."""

import functools
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from campaigns.lessons import exam_locked
from edu import eventloop
from edu.tabular import write_csv, write_xlsx
from quizzes import access, results, selectors, services
from quizzes.forms import GuestStartForm, QuizForm, QuizRuleFormSet
from quizzes.models import Attempt, Quiz, QuizQuestion


@login_required
def quiz_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    managed = (
        selectors.quizzes_managed(user=user).select_related(
            "target_class__school", "target_school", "campaign"
        )
        if selectors.is_bank_staff(user)
        else None
    )
    return render(
        request,
        "quizzes/quiz_list.html",
        {
            "managed": managed,
            "open_quizzes": selectors.quizzes_open_for_user(user=user, limit=50),
            "can_create": selectors.is_bank_staff(user),
        },
    )


@login_required
def quiz_create(request: HttpRequest) -> HttpResponse:
    if not selectors.is_bank_staff(request.user):
        raise PermissionDenied
    return _quiz_form(
        request, Quiz(language=request.LANGUAGE_CODE if request.LANGUAGE_CODE == "en" else "zh-hans")
    )


@login_required
def quiz_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _quiz_form(request, selectors.quiz_for_manager(user=request.user, pk=pk))


def _quiz_form(request: HttpRequest, quiz: Quiz) -> HttpResponse:
    form = QuizForm(request.POST or None, instance=quiz, user=request.user)
    rules = QuizRuleFormSet(request.POST or None, instance=quiz, prefix="rules")
    if request.method == "POST" and form.is_valid() and rules.is_valid():
        if form.cleaned_data["selection"] == Quiz.Selection.RANDOM and not any(
            f.cleaned_data and not f.cleaned_data.get("DELETE") for f in rules.forms
        ):
            form.add_error("selection", _("Add at least one rule to draw questions by."))
        else:
            with transaction.atomic():
                is_new = quiz.pk is None
                quiz = form.save(commit=False)
                if is_new:
                    quiz.created_by = request.user
                    if request.user.is_organiser:
                        quiz.owner_region = request.user.region
                    elif request.user.is_teacher:
                        quiz.owner_school = request.user.school
                quiz.save()
                rules.instance = quiz
                rules.save()
                quiz.fixed_questions.all().delete()
                if quiz.selection == Quiz.Selection.FIXED:
                    QuizQuestion.objects.bulk_create(
                        QuizQuestion(quiz=quiz, question=question, position=position)
                        for position, question in enumerate(form.cleaned_data["fixed"])
                    )
            messages.success(request, _("Quiz saved."))
            return redirect("quiz_detail", pk=quiz.pk)
    return render(request, "quizzes/quiz_form.html", {"form": form, "rules": rules, "quiz": quiz})


def quiz_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The landing page of a quiz: what it is, the attempts left, and the start button."""
    quiz = selectors.quiz_for_taker(user=request.user, pk=pk)
    user = request.user
    owner = (
        {"user": user} if user.is_authenticated else {"guest_key": request.session.get("quiz_guest_key", "-")}
    )
    attempts = list(Attempt.objects.filter(quiz=quiz, **owner).order_by("-started_at"))
    is_manager = user.is_authenticated and selectors.quizzes_managed(user=user).filter(pk=quiz.pk).exists()
    attempts_left = None if not quiz.max_attempts else max(0, quiz.max_attempts - len(attempts))
    return render(
        request,
        "quizzes/quiz_detail.html",
        {
            "quiz": quiz,
            "attempts": attempts,
            "open_attempt": next((a for a in attempts if not a.is_submitted), None),
            "attempts_left": attempts_left,
            "question_count": results.question_count(quiz=quiz),
            "is_open": quiz.is_open(),
            "is_manager": is_manager,
            "guest_form": GuestStartForm() if not user.is_authenticated else None,
            "share_url": request.build_absolute_uri(reverse("quiz_detail", args=[quiz.pk])),
        },
    )


@require_POST
def quiz_start(request: HttpRequest, pk: int) -> HttpResponse:
    quiz = selectors.quiz_for_taker(user=request.user, pk=pk)
    user = request.user if request.user.is_authenticated else None
    guest_key = guest_name = ""
    if user is None:
        form = GuestStartForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a nickname to start."))
            return redirect("quiz_detail", pk=pk)
        guest_name = form.cleaned_data["nickname"]
        guest_key = request.session.setdefault("quiz_guest_key", secrets.token_urlsafe(24))
    if exam_locked(quiz=quiz, user=request.user):
        messages.error(request, _("The final exam opens once you have finished every lesson of your grade."))
        return redirect("quiz_detail", pk=pk)
    try:
        attempt = services.attempt_start(
            quiz=quiz, user=user, guest_key=guest_key, guest_name=guest_name, now=timezone.now()
        )
    except services.QuizError as error:
        messages.error(request, error.message)
        return redirect("quiz_detail", pk=pk)
    return redirect("attempt_take", attempt_id=attempt.pk)


def attempt_take(request: HttpRequest, attempt_id) -> HttpResponse:
    """One question per screen; `?q=N` picks the question, by default the first not yet answered."""
    attempt = selectors.attempt_for_taker(request=request, attempt_id=attempt_id)
    attempt = services.attempt_close_if_expired(attempt=attempt, now=timezone.now())
    if attempt.is_submitted:
        return redirect("attempt_review", attempt_id=attempt.pk)
    items = list(attempt.items.select_related("version").order_by("position"))
    try:
        position = int(request.GET.get("q", ""))
    except ValueError:
        position = next((item.position for item in items if item.answered_at is None), 0)
    position = min(max(position, 0), len(items) - 1)
    item = items[position]
    show_feedback = attempt.quiz.review == Quiz.Review.AFTER_EACH and item.answered_at is not None
    answered = sum(1 for i in items if i.answered_at is not None)
    return render(
        request,
        "quizzes/attempt_take.html",
        {
            "attempt": attempt,
            "quiz": attempt.quiz,
            "item": item,
            "view": results.item_view(item=item, reveal=show_feedback),
            "position": position,
            "count": len(items),
            "answered": answered,
            "unanswered": len(items) - answered,
            "progress": [{"position": i.position, "answered": i.answered_at is not None} for i in items],
            "show_feedback": show_feedback,
            "server_now": timezone.now(),
            "answer_token": access.answer_token(request=request, attempt_id=attempt.pk),
        },
    )


def token_or_session(action):
    """A POST on an attempt through one of two lanes. The page's script sends the attempt's answer token and
    skips the session (quizzes/access.py); every other request is checked by the session's owner and the
    CSRF token, as any form. `action(request, attempt_id, owner=...)` gets the owner the lane stands for."""

    @csrf_protect
    def by_session(request: HttpRequest, attempt_id) -> HttpResponse:
        return action(request, attempt_id, owner=selectors.attempt_owner(request=request))

    @csrf_exempt  # the token lane needs no CSRF token; the session lane checks it
    @require_POST
    @functools.wraps(action)
    @eventloop.serves_on_loop  # the token lane's JSON requests are served on the event loop
    def view(request: HttpRequest, attempt_id) -> HttpResponse:
        if eventloop.remember(  # once for both passes on the loop
            "answer-token", lambda: access.holds_answer_token(request=request, attempt_id=attempt_id)
        ):
            return action(request, attempt_id, owner=access.TOKEN_HOLDER)
        eventloop.to_thread()  # the session's way reads the session
        return by_session(request, attempt_id)

    return view


@token_or_session
def attempt_answer(request: HttpRequest, attempt_id, *, owner: access.AttemptOwner) -> HttpResponse:
    """Save one answer. JSON for the page's script; a redirect for a plain form post."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        position = int(request.POST.get("position", ""))
        selected = [int(value) for value in request.POST.getlist("choice")]
    except ValueError:
        position, selected = -1, []
    go = request.POST.get("go", "next")
    now = timezone.now()
    try:
        # The gate's ownership condition goes into the service's one locking query (the hot path of a quiz).
        saved = eventloop.call(
            lambda: services.attempt_answer(
                attempt_id=attempt_id, owner=owner, position=position, selected=selected, now=now
            ),
            on_loop=functools.partial(
                services.attempt_answer_on_loop,
                attempt_id=attempt_id,
                position=position,
                selected=selected,
                now=now,
            )
            if owner.token_holder and wants_json
            else None,
            passes=[services.QuizError],
        )
    except services.QuizError as error:
        if error.code == "no_such_attempt":
            raise Http404("No such attempt.") from None
        if wants_json:
            status = 409 if error.code in {"attempt_closed", "already_answered"} else 400
            return JsonResponse({"ok": False, "code": error.code, "message": error.message}, status=status)
        if error.code == "attempt_closed":
            messages.warning(request, error.message)
            return redirect("attempt_review", attempt_id=attempt_id)
        if go == "next" and error.code == "invalid_choice" and not selected:
            return redirect(f"{reverse('attempt_take', args=[attempt_id])}?q={position + 1}")
        messages.error(request, error.message)
        return redirect(f"{reverse('attempt_take', args=[attempt_id])}?q={max(position, 0)}")
    if wants_json:
        payload = {
            "ok": True,
            "position": saved.item.position,
            "saved_at": saved.item.answered_at.isoformat(),
        }
        if saved.reveal:
            payload["feedback"] = results.feedback(item=saved.item)
        return JsonResponse(payload)
    target = position if saved.reveal or go == "stay" else position + 1
    if go == "prev":
        target = position - 1
    return redirect(f"{reverse('attempt_take', args=[attempt_id])}?q={max(target, 0)}")


@token_or_session
def attempt_submit(request: HttpRequest, attempt_id, *, owner: access.AttemptOwner) -> HttpResponse:
    """Submit the attempt: the review page's address as JSON for the page's script; a redirect to it for a
    plain form post."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    now = timezone.now()
    attempt = eventloop.call(
        lambda: services.attempt_submit_owned(attempt_id=attempt_id, owner=owner, now=now),
        on_loop=functools.partial(services.attempt_submit_on_loop, attempt_id=attempt_id, now=now)
        if owner.token_holder and wants_json
        else None,
    )
    if attempt is None:
        raise Http404("No such attempt.")
    review = reverse("attempt_review", args=[attempt.pk])
    if wants_json:
        return JsonResponse({"ok": True, "review_url": review})
    return redirect(review)


def attempt_review(request: HttpRequest, attempt_id) -> HttpResponse:
    attempt = selectors.attempt_for_taker(request=request, attempt_id=attempt_id)
    attempt = services.attempt_close_if_expired(attempt=attempt, now=timezone.now())
    if not attempt.is_submitted:
        return redirect("attempt_take", attempt_id=attempt.pk)
    reveal = results.answers_visible(attempt=attempt, now=timezone.now())
    items = attempt.items.select_related("version").order_by("position")
    return render(
        request,
        "quizzes/attempt_review.html",
        {
            "attempt": attempt,
            "quiz": attempt.quiz,
            "reveal": reveal,
            "views": [results.item_view(item=item, reveal=reveal) for item in items],
        },
    )


@login_required
def my_attempts(request: HttpRequest) -> HttpResponse:
    attempts = Attempt.objects.filter(user=request.user).select_related("quiz").order_by("-started_at")[:200]
    return render(request, "quizzes/my_attempts.html", {"attempts": attempts})


@login_required
def quiz_results(request: HttpRequest, pk: int) -> HttpResponse:
    quiz = selectors.quiz_for_manager(user=request.user, pk=pk)
    class_id = request.GET.get("class")
    table = results.results_table(quiz=quiz, user=request.user, class_id=class_id)
    return render(
        request,
        "quizzes/quiz_results.html",
        {
            "quiz": quiz,
            "table": table,
            "questions": results.question_table(
                quiz=quiz, attempt_ids=[row.attempt.pk for row in table.rows]
            ),
            "classes": table.classes,
            "class_id": class_id,
        },
    )


@login_required
def quiz_results_export(request: HttpRequest, pk: int) -> HttpResponse:
    quiz = selectors.quiz_for_manager(user=request.user, pk=pk)
    table = results.results_table(quiz=quiz, user=request.user, class_id=request.GET.get("class"))
    header, rows = results.export_rows(table=table)
    if request.GET.get("format") == "csv":
        response = HttpResponse(write_csv(header, rows), content_type="text/csv; charset=utf-8")
        extension = "csv"
    else:
        response = HttpResponse(
            write_xlsx(header, rows, sheet_title="results"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        extension = "xlsx"
    response["Content-Disposition"] = f'attachment; filename="quiz-{quiz.pk}-results.{extension}"'
    return response


def quiz_leaderboard(request: HttpRequest, pk: int) -> HttpResponse:
    """Nicknames or initials only: most players are minors."""
    quiz = selectors.quiz_for_taker(user=request.user, pk=pk)
    scope = request.GET.get("scope", "class")
    board = results.leaderboard(quiz=quiz, user=request.user, scope=scope)
    return render(request, "quizzes/quiz_leaderboard.html", {"quiz": quiz, "board": board, "scope": scope})

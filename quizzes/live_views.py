"""Live contest pages: the PIN page, joining, the player and host screens, creating one, and its results."""

import io

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.selectors import campaigns_visible
from edu.tabular import write_csv, write_xlsx
from quizzes import selectors
from quizzes.live import services
from quizzes.models import LiveAnswer, LiveContest, LivePlayer
from quizzes.services import QuizError


class PinForm(forms.Form):
    pin = forms.CharField(label=gettext_lazy("Game PIN"), max_length=8)


class JoinForm(forms.Form):
    nickname = forms.CharField(label=gettext_lazy("Nickname"), max_length=20, required=False)
    team = forms.ChoiceField(label=gettext_lazy("Team"), required=False)


class ContestForm(forms.ModelForm):
    class Meta:
        model = LiveContest
        fields = [
            "title",
            "quiz",
            "seconds_per_question",
            "points",
            "speed_bonus",
            "streak_bonus",
            "team_mode",
            "custom_teams",
            "max_players",
            "allow_guests",
            "campaign",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quiz"].queryset = selectors.quizzes_managed(user=user)
        self.fields["campaign"].queryset = campaigns_visible(user=user)
        self.fields["title"].required = False
        self.fields["seconds_per_question"].widget.attrs.update({"min": 5, "max": 240})
        self.fields["max_players"].widget.attrs.update({"min": 1, "max": 20000})

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("team_mode") == LiveContest.Teams.CUSTOM
            and len(
                [n for n in (cleaned.get("custom_teams") or "").replace("，", ",").split(",") if n.strip()]
            )
            < 2
        ):
            self.add_error("custom_teams", _("Name at least two teams, separated by commas."))
        seconds = cleaned.get("seconds_per_question")
        if seconds is not None and not 5 <= seconds <= 240:
            self.add_error("seconds_per_question", _("Between 5 and 240 seconds."))
        return cleaned


def live_index(request: HttpRequest) -> HttpResponse:
    """Enter a PIN; staff also see their contests and start new ones."""
    form = PinForm(request.GET or None)
    if form.is_valid():
        return redirect(f"{reverse('live_join')}?pin={form.cleaned_data['pin']}")
    hosted = selectors.contests_hosted(user=request.user)[:20] if request.user.is_authenticated else []
    return render(
        request,
        "quizzes/live/index.html",
        {"form": form, "hosted": hosted, "can_host": selectors.is_bank_staff(request.user)},
    )


def _open_contest(pin: str) -> LiveContest | None:
    open_contests = LiveContest.objects.exclude(status=LiveContest.Status.FINISHED)
    return open_contests.filter(pin=(pin or "").strip()).first()


def live_join(request: HttpRequest) -> HttpResponse:
    pin = request.GET.get("pin") or request.POST.get("pin") or ""
    contest = _open_contest(pin)
    if contest is None:
        messages.error(request, _("No contest is open with the PIN “%(pin)s”.") % {"pin": pin[:8]})
        return redirect("live_index")
    form = JoinForm(request.POST or None)
    form.fields["team"].choices = [("", "—")] + [(name, name) for name in contest.team_names]
    if request.method == "POST" and form.is_valid():
        try:
            player = services.player_join(
                contest=contest,
                user=request.user if request.user.is_authenticated else None,
                nickname=form.cleaned_data["nickname"],
                team=form.cleaned_data["team"],
            )
        except services.LiveError as error:
            form.add_error(None, error.message)
        else:
            return _play_page(request, contest, token=player.token)
    return render(request, "quizzes/live/join.html", {"contest": contest, "form": form, "pin": contest.pin})


def live_play(request: HttpRequest, pk: int) -> HttpResponse:
    """The player's screen; the token lives in the browser, so a reload resumes the same player."""
    contest = LiveContest.objects.filter(pk=pk).first()
    if contest is None:
        raise Http404("No such contest.")
    return _play_page(request, contest, token="")


def _play_page(request: HttpRequest, contest: LiveContest, *, token: str) -> HttpResponse:
    return render(
        request,
        "quizzes/live/play.html",
        {
            "contest": contest,
            "ws_path": f"/ws/live/{contest.pk}/play/",
            "token": token,
            "join_url": f"{reverse('live_join')}?pin={contest.pin}",
        },
    )


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    out = io.BytesIO()
    image.save(out)
    # Generated here from our own URL, so it is safe to inline.
    return mark_safe(out.getvalue().decode())  # noqa: S308


@login_required
def live_host(request: HttpRequest, pk: int) -> HttpResponse:
    contest = selectors.contest_for_host(user=request.user, pk=pk)
    if contest is None:
        raise Http404("No such contest.")
    join_url = request.build_absolute_uri(f"{reverse('live_join')}?pin={contest.pin}")
    return render(
        request,
        "quizzes/live/host.html",
        {
            "contest": contest,
            "ws_path": f"/ws/live/{contest.pk}/host/",
            "join_url": join_url,
            "qr_svg": _qr_svg(join_url),
            "results_url": reverse("live_results", args=[contest.pk]),
        },
    )


@login_required
def live_create(request: HttpRequest) -> HttpResponse:
    if not selectors.is_bank_staff(request.user):
        raise PermissionDenied
    initial = {}
    quiz_id = request.GET.get("quiz")
    if quiz_id and quiz_id.isdigit():
        initial["quiz"] = int(quiz_id)
    form = ContestForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        options = {
            k: v for k, v in form.cleaned_data.items() if k not in {"quiz", "title", "seconds_per_question"}
        }
        try:
            contest = services.contest_create(
                quiz=form.cleaned_data["quiz"],
                host=request.user,
                title=form.cleaned_data["title"],
                seconds_per_question=form.cleaned_data["seconds_per_question"],
                **options,
            )
        except services.LiveError as error:
            form.add_error(None, error.message)
        except QuizError as error:  # a random quiz's draw may find too few questions
            form.add_error("quiz", error.message)
        else:
            return redirect("live_host", pk=contest.pk)
    return render(request, "quizzes/live/new.html", {"form": form})


@login_required
def live_results(request: HttpRequest, pk: int) -> HttpResponse:
    contest = selectors.contest_for_host(user=request.user, pk=pk)
    if contest is None:
        raise Http404("No such contest.")
    header, rows = _result_rows(contest)
    file_format = request.GET.get("format")
    if file_format in {"xlsx", "csv"}:
        if file_format == "csv":
            response = HttpResponse(write_csv(header, rows), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(
                write_xlsx(header, rows, sheet_title="contest"),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response["Content-Disposition"] = f'attachment; filename="contest-{contest.pk}-results.{file_format}"'
        return response
    return render(request, "quizzes/live/results.html", {"contest": contest, "header": header, "rows": rows})


def _result_rows(contest: LiveContest) -> tuple[list[str], list[list]]:
    questions = list(contest.questions.order_by("position"))
    answers = {
        (a.player_id, a.question_id): a
        for a in LiveAnswer.objects.filter(question__contest=contest).only(
            "player_id", "question_id", "correct", "points", "streak_bonus"
        )
    }
    header = [_("Rank"), _("Nickname"), _("Team"), _("Class"), _("Score")] + [
        _("Q%(number)s") % {"number": q.position + 1} for q in questions
    ]
    rows = []
    players = LivePlayer.objects.filter(contest=contest, kicked=False).select_related("school_class")
    for player in players.order_by("rank", "joined_at"):
        row = [
            player.rank,
            player.nickname,
            player.team,
            player.school_class.label if player.school_class else "",
            player.score,
        ]
        for q in questions:
            a = answers.get((player.pk, q.pk))
            row.append("" if a is None else (a.points + a.streak_bonus if a.correct else 0))
        rows.append(row)
    return header, rows

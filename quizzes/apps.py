from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuizzesConfig(AppConfig):
    name = "quizzes"
    verbose_name = _("Quizzes")

    def ready(self) -> None:
        from edu import eventloop

        eventloop.add_lane(answer_lane_request)


def answer_lane_request(scope: dict) -> bool:
    """A request the quiz page's script sends with the attempt's answer token, for a JSON answer: saving an
    answer or submitting (quizzes/views.token_or_session) is tried on the event loop first."""
    if scope.get("method") != "POST":
        return False
    token = json = False
    for name, value in scope.get("headers", ()):
        if name == b"x-answer-token":
            token = True
        elif name == b"accept" and b"application/json" in value:
            json = True
    return token and json

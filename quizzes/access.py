"""Who may act on an attempt: its owner (a signed-in user, or a guest by the key their session holds), and,
for saving answers and submitting, whoever holds the attempt's answer token.

The answer token is the fast lane of the quiz page's script. Saving an answer is the most frequent request
of the site, and loading the session and the user for it, then checking the CSRF token, cost more than the
save itself. So when the gate (selectors.attempt_for_taker) shows a question, the page also gets a token
signed with the site's secret for this attempt *and this browser's session cookie* (its key is part of the
signature's salt), valid for ANSWER_TOKEN_MAX_AGE. The script sends it in the X-Answer-Token header; a
request with a valid one saves the answer without reading the session (quizzes/views.attempt_answer); the
script submits the attempt the same way (quizzes/views.attempt_submit), since the owner who may answer may
also hand in.

Why that is as safe as the session: the token is useless without the session cookie it was signed for
(HttpOnly, so no script reads it), and the session cookie alone gets nothing the session path would not
give. It needs no CSRF check: another site's page cannot read the token out of ours, and cannot send a
custom header to us without a CORS preflight that we never allow; a request whose Origin header names
another site (neither this one nor one of CSRF_TRUSTED_ORIGINS) is refused the lane all the same.

What it does not see: a session ended elsewhere (signed out on another device, the password changed)
keeps the lane to an attempt already open on this page, until the token expires or the attempt closes;
signing out in this browser replaces the cookie and ends it. Anything else, and a missing, expired or
foreign token, goes the session way, CSRF check included.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.http import HttpRequest

# Short, as the lane does not see a session ended elsewhere; past it the script's answers go the session way.
ANSWER_TOKEN_MAX_AGE = timedelta(hours=2)
ANSWER_TOKEN_HEADER = "X-Answer-Token"  # noqa: S105 - a header name
_SALT = "quizzes.access.answer-token"


@dataclass(frozen=True)
class AttemptOwner:
    """Whose attempts a request may act on: the signed-in user's, and the guest attempts whose key the
    browser's session holds (selectors.attempt_owner). `token_holder` stands for a request that carries the
    attempt's answer token: the gate checked the owner when it gave the token."""

    user_id: int | None = None
    guest_key: str = ""
    token_holder: bool = False

    def q(self) -> Q:
        if self.token_holder:
            raise ValueError("a token holder's attempt is known by its id, not by a filter")
        owned = Q(pk__in=[])
        if self.user_id is not None:
            owned |= Q(user_id=self.user_id)
        if self.guest_key:
            owned |= Q(user__isnull=True, guest_key=self.guest_key)
        return owned


TOKEN_HOLDER = AttemptOwner(token_holder=True)


def _signer(session_key: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"{_SALT}:{session_key}")


def answer_token(*, request: HttpRequest, attempt_id) -> str:
    """For the page of an attempt the gate has let the request see; "" when the browser has no session
    cookie yet (the script then saves through the session, as without a token)."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not session_key or session_key != request.session.session_key:
        return ""
    return sign_answer_token(session_key=session_key, attempt_id=attempt_id)


def sign_answer_token(*, session_key: str, attempt_id) -> str:
    return _signer(session_key).sign(str(attempt_id))


def holds_answer_token(*, request: HttpRequest, attempt_id) -> bool:
    """Whether the request carries a valid answer token for this attempt and this session cookie, from a
    page of this site."""
    token = request.headers.get(ANSWER_TOKEN_HEADER, "")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not token or not session_key or len(token) > 200:
        return False
    origin = request.headers.get("Origin")
    if (
        origin is not None
        and origin != f"{request.scheme}://{request.get_host()}"
        and origin not in settings.CSRF_TRUSTED_ORIGINS
    ):
        return False
    try:
        signed_id = _signer(session_key).unsign(token, max_age=ANSWER_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return False
    return signed_id == str(attempt_id)

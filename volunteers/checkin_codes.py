"""The rotating check-in token shown as a QR code at an activity: pure functions, no database.

A token is the first 10 characters of the base32 HMAC-SHA256 of (activity id, minute) under the activity's
secret. It is accepted during its minute and the next one, so a phone that scanned at :59 still works, and a
photo of the code sent to a friend at home stops working within two minutes.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

TOKEN_LENGTH = 10
# How many minutes a token stays valid: its own and the one after it.
ACCEPTED_MINUTES = 2


def minute_of(now: datetime) -> int:
    """Whole minutes since the Unix epoch: the same on every server whatever its time zone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return int(now.astimezone(UTC).timestamp()) // 60


def token_for(secret: str, activity_id: int, minute: int) -> str:
    message = f"{activity_id}:{minute}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:TOKEN_LENGTH]


def current_token(secret: str, activity_id: int, now: datetime) -> str:
    return token_for(secret, activity_id, minute_of(now))


def normalise(token: str) -> str:
    """Tokens are upper-case base32; people who type one may use lower case or spaces."""
    return "".join((token or "").split()).upper()


def token_valid(secret: str, activity_id: int, token: str, now: datetime) -> bool:
    """True when token is this activity's token for the current minute or the one before."""
    token = normalise(token)
    if len(token) != TOKEN_LENGTH:
        return False
    minute = minute_of(now)
    # Compare against every accepted minute (no early exit) in constant time.
    matches = [
        hmac.compare_digest(token, token_for(secret, activity_id, minute - back))
        for back in range(ACCEPTED_MINUTES)
    ]
    return any(matches)

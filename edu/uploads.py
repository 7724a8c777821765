"""Uploaded files waiting between a preview and its confirmation (question banks, rosters).

The file waits in the private storage (never served: a roster holds minors' names), under a random name;
the session that uploaded it holds the token that finds it again, so nobody else can confirm or read it. A
session keeps a few uploads at once (a few tabs); older ones, and any nobody confirmed or discarded, are
deleted.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from django.core.files.storage import storages
from django.http import Http404, HttpRequest
from django.utils import timezone

logger = logging.getLogger(__name__)


def private_storage():
    return storages["private"]


@dataclass(frozen=True)
class PendingUploads:
    folder: str  # in the private storage
    session_key: str
    max_pending: int
    max_age: timedelta

    def keep(self, request: HttpRequest, upload, **facts) -> str:
        """Store the upload and return its token; `facts` are kept with it (say, the school it is for)."""
        self.sweep()
        token = secrets.token_hex(16)
        suffix = PurePath(upload.name).suffix.lower()
        stored = private_storage().save(f"{self.folder}/{token}{suffix}", upload)
        pending = dict(request.session.get(self.session_key, {}))
        pending[token] = {
            "name": PurePath(upload.name).name[:200],
            "path": stored,
            "at": timezone.now().isoformat(),
            **facts,
        }
        for old in sorted(pending, key=lambda key: pending[key]["at"])[: -self.max_pending]:
            self._delete_quietly(pending.pop(old)["path"])
        request.session[self.session_key] = pending
        return token

    def get(self, request: HttpRequest, token: str, **facts) -> dict:
        """The upload behind this token, only for the session that uploaded it and the same `facts`."""
        pending = request.session.get(self.session_key, {}).get(token)
        if (
            pending is None
            or any(pending.get(key) != value for key, value in facts.items())
            or not private_storage().exists(pending["path"])
        ):
            raise Http404("No such upload.")
        return pending

    def read(self, pending: dict) -> bytes:
        with private_storage().open(pending["path"], "rb") as handle:
            return handle.read()

    def forget(self, request: HttpRequest, token: str) -> None:
        pending = dict(request.session.get(self.session_key, {}))
        entry = pending.pop(token, None)
        if entry is not None:
            self._delete_quietly(entry["path"])
        request.session[self.session_key] = pending

    def sweep(self) -> None:
        """Remove uploads nobody confirmed or discarded (a closed tab, an expired session)."""
        cutoff = timezone.now() - self.max_age
        try:
            _dirs, files = private_storage().listdir(self.folder)
            for name in files:
                path = f"{self.folder}/{name}"
                if private_storage().get_modified_time(path) < cutoff:
                    self._delete_quietly(path)
        except (FileNotFoundError, NotImplementedError, OSError):
            return

    @staticmethod
    def _delete_quietly(path: str) -> None:
        try:
            private_storage().delete(path)
        except OSError:
            logger.warning("Could not delete the uploaded file %s", path)

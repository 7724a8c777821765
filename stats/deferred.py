"""The submitted attempts' rollup refresh, gathered and run a moment later, off the submitting request.

A class or a whole school submits its quiz within the same minute, and each submission used to recompute its
school's day from every attempt of that day, in the request: at an assembly of 3,000 students that is 3,000
recomputes over up to 3,000 attempts each, for one row. Here the receiver only notes the attempt; a thread
of the process wakes `settings.STATS_REFRESH_DELAY` seconds (default 1) after the first note, takes every
attempt noted by then, and recomputes each day's units once (rollups.units_refresh). The figures trail a
submission by about that delay; while submissions keep coming, a round that took long is followed by a
longer wait (next_wait), so that the refreshes take at most a tenth of the process's time.

What is noted and not yet refreshed lives in the process: if the process dies in that second, its notes are
lost, and `manage.py refresh_stats` (every minute in production, docs/statistics.md) recomputes the day
whole; a normal exit refreshes what is still noted (atexit; a round the thread has already taken may be cut
short by the exit, and is the minute's to repair too). With STATS_REFRESH_DELAY = 0 the refresh runs in the
receiver, on commit, as the other events' do (the tests set it so; tests/stats/test_deferred.py covers the
deferred way).
"""

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# Attempts read per query when their units are worked out (an IN list of ids).
_CHUNK = 2000


class AttemptRefreshes:
    """The attempts submitted in this process whose units wait for their refresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._noted: set = set()  # attempt ids
        self._thread: threading.Thread | None = None

    def note(self, attempt_id) -> None:
        """After the attempt's submission committed; refreshes now when the delay is 0."""
        delay = settings.STATS_REFRESH_DELAY
        if delay <= 0:
            refresh_attempts([attempt_id])
            return
        with self._lock:
            self._noted.add(attempt_id)
            if self._thread is None:
                self._start(delay)

    def _start(self, delay: float) -> None:
        """With the lock held. A thread that cannot start leaves the notes for the next note (or the exit)."""
        thread = threading.Thread(target=self._run, args=(delay,), name="stats-refresh", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            logger.exception("statistics: the refresh thread could not start")
            return
        self._thread = thread

    def flush(self) -> int:
        """Refresh whatever is noted, in the caller's thread; the number of attempts taken."""
        with self._lock:
            taken, self._noted = self._noted, set()
        if taken:
            try:
                refresh_attempts(taken)
            except Exception:
                logger.exception("statistics: refreshing after %s attempts failed", len(taken))
        return len(taken)

    def pending(self) -> int:
        with self._lock:
            return len(self._noted)

    def _run(self, delay: float) -> None:
        try:
            wait = delay
            while True:
                _sleep(wait)
                with self._lock:
                    if not self._noted:
                        self._thread = None
                        return
                began = _monotonic()
                try:
                    self.flush()
                finally:
                    wait = next_wait(delay=delay, took=_monotonic() - began)
                    # This thread's own connections, given back after each round as a request's are: a busy
                    # thread never holds one for long, nor keeps one the database has dropped.
                    connections.close_all()
        except BaseException:
            logger.exception("statistics: the refresh thread failed")
            with self._lock:
                # Never a dead thread left registered: what is noted gets a new one (after the delay).
                self._thread = None
                if self._noted:
                    self._start(delay)


# The share of the process's time that the refreshes may take while submissions keep coming: a round that
# took t seconds is followed by a wait of at least t * (1 / share - 1).
REFRESH_SHARE = 0.1
# The longest wait between rounds, whatever a round took: the minute's repair (refresh_stats) is the bound.
MAX_WAIT = 30.0
_monotonic, _sleep = time.monotonic, time.sleep  # this module's, so that a test can stand in for them


def next_wait(*, delay: float, took: float) -> float:
    """The wait before the next round, after a round that took `took` seconds.

    A round recomputes each unit from every attempt of its day, so it costs about as much for ten new
    submissions as for a thousand, and grows with the day's attempts: at the bell of an assembly (2,400
    students, bench/quiz_answers.py on SQLite) a round took 0.08-0.27 s, a second apart, in the process
    that served the submissions. Waiting longer after a longer round gathers more submissions into each
    and keeps the refreshes to REFRESH_SHARE of the time (waiting at most MAX_WAIT); the figures then
    trail by a few seconds instead of one."""
    return max(delay, min(MAX_WAIT, took * (1 / REFRESH_SHARE - 1)))


def refresh_attempts(attempt_ids) -> None:
    """Recompute the rollup units of these submitted attempts: each day's units once."""
    from quizzes.models import Attempt
    from stats import rollups

    ids = sorted(attempt_ids)
    by_day: dict = {}
    for start in range(0, len(ids), _CHUNK):
        attempts = list(
            Attempt.objects.filter(
                pk__in=ids[start : start + _CHUNK], submitted_at__isnull=False
            ).select_related("quiz__campaign")
        )
        for attempt, unit in zip(attempts, attempt_units(attempts), strict=True):
            if unit is not None:
                by_day.setdefault(rollups.local_day(attempt.submitted_at), set()).add(unit)
    for day, units in sorted(by_day.items()):
        rollups.units_refresh(day=day, units=units)


def attempt_units(attempts) -> list:
    """Where each attempt counts (docs/statistics.md), as a rollups.Unit: its school or its quiz's school,
    else its quiz's or the quiz's campaign's region; None for a quiz without any. One query for the
    schools' regions."""
    from edu.models import School
    from stats.rollups import Unit

    school_ids = {attempt.school_id or attempt.quiz.owner_school_id for attempt in attempts} - {None}
    regions = (
        dict(School.objects.filter(pk__in=school_ids).values_list("pk", "region_id")) if school_ids else {}
    )
    units = []
    for attempt in attempts:
        quiz = attempt.quiz
        school_id = attempt.school_id or quiz.owner_school_id
        if school_id:
            units.append(Unit(school_id=school_id, region_id=regions.get(school_id) or 0))
            continue
        region_id = quiz.owner_region_id or (quiz.campaign.region_id if quiz.campaign_id else None)
        units.append(Unit(school_id=0, region_id=region_id) if region_id else None)
    return units


attempt_refreshes = AttemptRefreshes()


@atexit.register
def _flush_at_exit() -> None:
    attempt_refreshes.flush()


def _forget_in_child() -> None:
    # A forked child has none of the parent's threads: it starts with nothing noted.
    global attempt_refreshes
    attempt_refreshes = AttemptRefreshes()


os.register_at_fork(after_in_child=_forget_in_child)

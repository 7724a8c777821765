"""The events that move the statistics: each receiver runs after its event's transaction committed (the
signals are sent on commit) and recomputes the few rollup rows the event touched (stats/rollups.py); a
submitted attempt's are gathered with the process's other submissions and recomputed a moment later
(stats/deferred.py).

A failure here must not undo or fail the event the user just made (their answer, their approval): it is
logged and `refresh_stats` repairs the rows within the minute."""

import logging

from django.conf import settings
from django.dispatch import receiver

from edu.signals import student_claimed
from quizzes.signals import attempt_submitted, contest_finished
from stats import deferred, rollups, surveys
from volunteers.signals import hours_approved

logger = logging.getLogger(__name__)


@receiver(attempt_submitted)
def _attempt_submitted(sender, attempt, **kwargs) -> None:
    try:
        # Gathered with the process's other submissions and refreshed a moment later (stats/deferred.py).
        deferred.attempt_refreshes.note(attempt.pk)
        surveys.on_attempt_submitted(attempt)
    except Exception:
        logger.exception("statistics: refreshing after attempt %s failed", attempt.pk)


def _reads_nothing(*, attempt, **kwargs) -> bool:
    """Whether _attempt_submitted touches no database for this attempt: the refresh is deferred (it only
    notes the attempt, a lock and a set: STATS_REFRESH_DELAY above 0) and no survey's figures change (a later
    attempt, or a quiz, loaded already, that is no survey). A submission served on the event loop then sends
    the signal there, without a thread (edu/eventloop.send_on_loop)."""
    if settings.STATS_REFRESH_DELAY <= 0:
        return False
    if attempt.number != 1:
        return True
    from quizzes.models import Attempt

    return Attempt.quiz.is_cached(attempt) and attempt.quiz.survey_phase not in surveys.PHASES


_attempt_submitted.runs_on_loop = _reads_nothing


@receiver(contest_finished)
def _contest_finished(sender, contest, **kwargs) -> None:
    from edu.models import School
    from quizzes.models import LivePlayer

    try:
        if contest.finished_at is None:
            return
        host = contest.host
        school_ids = set(LivePlayer.objects.filter(contest=contest).values_list("school_id", flat=True))
        school_ids.add(host.school_id)
        school_ids.discard(None)
        units = {
            rollups.Unit(school_id=pk, region_id=region_id)
            for pk, region_id in School.objects.filter(pk__in=school_ids).values_list("pk", "region_id")
        }
        region_id = host.region_id or (contest.campaign.region_id if contest.campaign_id else None)
        if region_id:
            units.add(rollups.Unit(school_id=0, region_id=region_id))
        rollups.units_refresh(day=rollups.local_day(contest.finished_at), units=units)
        surveys.on_contest_finished(contest)
    except Exception:
        logger.exception("statistics: refreshing after contest %s failed", contest.pk)


@receiver(student_claimed)
def _student_claimed(sender, student, previously_claimed_at=None, **kwargs) -> None:
    try:
        unit = rollups.Unit(school_id=student.school_id, region_id=student.school.region_id)
        days = {rollups.local_day(student.claimed_at)}
        if previously_claimed_at is not None:
            days.add(rollups.local_day(previously_claimed_at))  # the claim moved from that day
        for day in sorted(days):
            rollups.units_refresh(day=day, units=[unit])
    except Exception:
        logger.exception("statistics: refreshing after the claim of student %s failed", student.pk)


@receiver(hours_approved)
def _hours_approved(sender, record, **kwargs) -> None:
    try:
        volunteer = record.volunteer
        unit = rollups.Unit(school_id=volunteer.school_id or 0, region_id=volunteer.region_id)
        days = {rollups.local_day(record.started_at)}
        if record.corrects_id:
            # The corrected record stops counting on its own day.
            days.add(rollups.local_day(record.corrects.started_at))
        for day in sorted(days):
            rollups.units_refresh(day=day, units=[unit])
            if record.corrects_id:
                # The correction may take the service out of a period, or later in it.
                rollups.volunteer_marks_recompute(day=day, volunteer_id=volunteer.pk)
            else:
                rollups.volunteer_marks_refresh(day=day, volunteer_ids=[volunteer.pk])
    except Exception:
        logger.exception("statistics: refreshing after hour record %s failed", record.pk)

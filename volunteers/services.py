"""Writes of the volunteers app: registration, teams, activities, sign-ups, check-in, hours, certificates.

Every function is keyword-only and takes `now`, so tests and commands control the clock. Refusals a person can
act on raise VolunteerError (a stable code, a translated message); acting without the authority raises
PermissionDenied, the same answer the gates in selectors.py give.

Concurrency is left to the database, never to a count read earlier:
- a sign-up locks the volunteer's profile row (their clashes) and then the shift row (its seats);
- a cancellation locks the shift row and promotes the first of the waiting list in the same transaction;
- every write of a volunteer's hour records (check-out, backfill, correction, approval) locks their profile
  row first, so overlap and daily-limit checks and the rollups see one record at a time; so does a change of
  their team memberships, which moves their approved hours into or out of the team's rollup;
- the rollups (approved_minutes, and the region, school, team, activity and campaign rows the organisers'
  totals page reads) move with F() in the approving transaction; volunteers/rollups.py recomputes them;
- decisions are conditional UPDATEs (`WHERE status = 'pending'`), reminders are claimed by
  `UPDATE … WHERE reminder_sent_at IS NULL`, numbers come from a counter row locked by its UPDATE.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from edu.models import Region, School, User
from volunteers import checkin_codes, signals
from volunteers import hour_rules as rules_module
from volunteers.hour_rules import Approver, Interval, RuleCode, RuleError, Verdict
from volunteers.models import (
    Activity,
    ActivityHourTotal,
    CampaignHourTotal,
    Certificate,
    HourRecord,
    NumberSequence,
    RegionHourTotal,
    SchoolHourTotal,
    Shift,
    Signup,
    Skill,
    Team,
    TeamHourTotal,
    TeamMembership,
    VolunteerProfile,
    age_on,
    hour_rules,
)
from volunteers.selectors import (
    can_approve_campaign_level,
    can_create_activity,
    can_lead_team,
    can_manage_volunteer,
    can_organise_activity,
)

logger = logging.getLogger(__name__)

# Ages of the guardian rules (docs/volunteers.md): under 14 a recorded consent, 14–17 their own tick.
ADULT_AGE = 18
SELF_CONSENT_AGE = 14
# Check-in opens this long before a shift starts and closes when it ends.
CHECKIN_OPENS_BEFORE = timedelta(minutes=60)
# Certificates list at most this many activity titles in their service content.
CERTIFICATE_MAX_TITLES = 10


class VolunteerError(Exception):
    """A refusal the person can act on: `code` is stable (tests, APIs), `message` translated."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- helpers -----------------------------------------------------------------------------------------------


def _local(value: datetime) -> datetime:
    return timezone.localtime(value)


def _local_date(value: datetime) -> date:
    return timezone.localtime(value).date()


def _when(value: datetime) -> str:
    return f"{_local(value):%Y-%m-%d %H:%M}"


def _next_in_sequence(name: str) -> int:
    """The next value of a named counter; the UPDATE locks the row until the caller's transaction ends."""
    with transaction.atomic():
        if NumberSequence.objects.filter(name=name).update(last_value=F("last_value") + 1):
            return NumberSequence.objects.values_list("last_value", flat=True).get(name=name)
        try:
            with transaction.atomic():
                NumberSequence.objects.create(name=name, last_value=1)
            return 1
        except IntegrityError:
            # Someone created it between our UPDATE and INSERT: their row is there now.
            NumberSequence.objects.filter(name=name).update(last_value=F("last_value") + 1)
            return NumberSequence.objects.values_list("last_value", flat=True).get(name=name)


def _lock_profile(volunteer: VolunteerProfile) -> VolunteerProfile:
    return (
        VolunteerProfile.objects.select_for_update(of=("self",))
        .select_related("region", "user")
        .get(pk=volunteer.pk)
    )


def _rule_message(error: RuleError) -> str:
    params = error.params
    if error.code == RuleCode.FUTURE:
        return _("Service hours can only be recorded once the service is over.")
    if error.code == RuleCode.NOT_POSITIVE:
        return _("The service must last at least one minute.")
    if error.code == RuleCode.OVERLAP:
        start, end = datetime.fromisoformat(str(params["start"])), datetime.fromisoformat(str(params["end"]))
        return _("This overlaps another record of the same volunteer (%(start)s – %(end)s).") % {
            "start": _when(start),
            "end": _when(end),
        }
    if error.code == RuleCode.DAILY_LIMIT:
        return _(
            "That makes %(hours)s hours of service on %(day)s; no more than %(limit)s hours a day are "
            "recorded."
        ) % {
            "hours": f"{int(params['minutes']) / 60:g}",
            "day": params["day"],
            "limit": f"{int(params['limit']) / 60:g}",
        }
    if error.code == RuleCode.TOO_LONG:
        return _("One record may not be longer than %(limit)s hours.") % {
            "limit": f"{int(params['limit']) / 60:g}"
        }
    if error.code == RuleCode.BACKFILL_TOO_OLD:
        return _("Service on %(day)s is too long ago to record now: the limit is %(limit)s days.") % {
            "day": params["service_date"],
            "limit": params["limit"],
        }
    return _("These hours break a rule of the service-hour records.")


def _rule_error(verdict: Verdict) -> VolunteerError:
    first = verdict.errors[0]
    return VolunteerError(str(first.code), _rule_message(first))


def _verdict(
    *,
    volunteer: VolunteerProfile,
    interval: Interval,
    now: datetime,
    backfill: bool = False,
    leave_out: Sequence[int] = (),
) -> Verdict:
    """hour_rules.check_record against the volunteer's records that count or may count.

    Pending corrections are left out: until approved, the record they correct is the one that stands (and
    the correction is checked against everything else when it is approved).
    """
    rules = hour_rules()
    window = rules_module.day_window(interval=interval, rules=rules)
    existing = (
        HourRecord.objects.live()
        .filter(volunteer=volunteer, started_at__lt=window.end, ended_at__gt=window.start)
        .exclude(source=HourRecord.Source.CORRECTION, status=HourRecord.Status.PENDING)
        .exclude(pk__in=list(leave_out))
        .values_list("started_at", "ended_at")
    )
    return rules_module.check_record(
        new=interval,
        existing=[Interval(start=start, end=end) for start, end in existing],
        now=now,
        rules=rules,
        backfill=backfill,
    )


def _approver_level(verdict: Verdict) -> str:
    # A record that breaks a rule as recorded goes to the higher level, where it will be looked at anyway.
    if verdict.approver == Approver.ACTIVITY:
        return HourRecord.ApproverLevel.ACTIVITY
    return HourRecord.ApproverLevel.CAMPAIGN


def _total_add(model, *, key: dict, copies: dict, minutes: int, records: int, volunteers: int) -> None:
    """Move one rollup row by the given amounts with F(), creating it on first use (a concurrent first use
    meets the unique key and updates the row the other transaction made)."""
    if not (minutes or records or volunteers):
        return
    rows = model.objects.filter(**key)
    changes = {
        "minutes": F("minutes") + minutes,
        "records": F("records") + records,
        "volunteers": F("volunteers") + volunteers,
    }
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            model.objects.create(**key, **copies, minutes=minutes, records=records, volunteers=volunteers)
    except IntegrityError:
        rows.update(**changes)


def _region_total_add(*, region: Region, minutes: int, records: int, volunteers: int = 0) -> None:
    _total_add(
        RegionHourTotal,
        key={"region": region},
        copies={"region_path": region.path},
        minutes=minutes,
        records=records,
        volunteers=volunteers,
    )


def _school_total_add(*, school_id: int | None, minutes: int, records: int, volunteers: int) -> None:
    if school_id is None:
        return
    path = School.objects.filter(pk=school_id).values_list("region_path", flat=True).first()
    if path is None:
        return
    _total_add(
        SchoolHourTotal,
        key={"school_id": school_id},
        copies={"region_path": path},
        minutes=minutes,
        records=records,
        volunteers=volunteers,
    )


def _team_totals_add(*, teams: Iterable[Team], minutes: int, records: int, volunteers: int) -> None:
    for team in teams:
        _total_add(
            TeamHourTotal,
            key={"team_id": team.pk},
            copies={"region_path": team.region_path},
            minutes=minutes,
            records=records,
            volunteers=volunteers,
        )


def _counting_records(volunteer: VolunteerProfile) -> int:
    return HourRecord.objects.counting().filter(volunteer=volunteer).count()


def _membership_moves_hours(*, team: Team, volunteer: VolunteerProfile, sign: int) -> None:
    """A member joining (sign 1) brings their approved hours to the team's rollup; one leaving (-1) takes
    them away. The caller holds the lock on the volunteer's profile, so `approved_minutes` is current."""
    if not volunteer.approved_minutes:
        return
    _team_totals_add(
        teams=[team],
        minutes=sign * volunteer.approved_minutes,
        records=sign * _counting_records(volunteer),
        volunteers=sign,
    )


def _record_totals_add(
    *, record: HourRecord, volunteer: VolunteerProfile, minutes_delta: int, records_delta: int
) -> None:
    """An approval's rollups, under the lock on the volunteer's profile (whose `approved_minutes` is still
    the value before this approval): their region, school and teams, the record's activity and campaign."""
    first_for_volunteer = int(records_delta == 1 and volunteer.approved_minutes == 0)
    _region_total_add(
        region=volunteer.region, minutes=minutes_delta, records=records_delta, volunteers=first_for_volunteer
    )
    _school_total_add(
        school_id=volunteer.school_id,
        minutes=minutes_delta,
        records=records_delta,
        volunteers=first_for_volunteer,
    )
    # Rows are always moved in the order of their keys, so two approvals sharing rows never deadlock.
    teams = Team.objects.filter(memberships__volunteer=volunteer).only("pk", "region_path").order_by("pk")
    _team_totals_add(
        teams=teams, minutes=minutes_delta, records=records_delta, volunteers=first_for_volunteer
    )
    activity = record.activity
    # Any other approved record of theirs there (superseded or not) means they already count: a superseded
    # record's approved correction belongs to the same activity.
    others = HourRecord.objects.filter(volunteer=volunteer, status=HourRecord.Status.APPROVED).exclude(
        pk=record.pk
    )
    new_in_activity = int(records_delta == 1 and not others.filter(activity=activity).exists())
    new_in_campaign = int(
        records_delta == 1 and not others.filter(activity__campaign_id=activity.campaign_id).exists()
    )
    _total_add(
        ActivityHourTotal,
        key={"activity_id": activity.pk},
        copies={"campaign_id": activity.campaign_id, "region_path": activity.region_path},
        minutes=minutes_delta,
        records=records_delta,
        volunteers=new_in_activity,
    )
    _total_add(
        CampaignHourTotal,
        key={"campaign_id": activity.campaign_id},
        copies={"region_path": activity.campaign.region.path},
        minutes=minutes_delta,
        records=records_delta,
        volunteers=new_in_campaign,
    )


def _send_on_commit(messages: list[mail.EmailMessage]) -> None:
    if messages:
        transaction.on_commit(lambda: mail.get_connection().send_messages(messages))


def _registration_language() -> str:
    """The language the volunteer registers in, if it is one of the site's: their reminders use it."""
    language = get_language() or ""
    return language if language in dict(settings.LANGUAGES) else ""


# --- volunteers and teams ----------------------------------------------------------------------------------


def volunteer_register(
    *,
    user: User,
    real_name: str,
    phone: str,
    birth_date: date,
    region: Region,
    school: School | None = None,
    skills: Iterable[str] = (),
    emergency_contact_name: str,
    emergency_contact_phone: str,
    guardian_name: str = "",
    guardian_phone: str = "",
    guardian_agrees: bool = False,
    now: datetime,
) -> VolunteerProfile:
    """Register the user as a volunteer, with a volunteer number issued by the server.

    Under 14: a guardian's name and phone are required; their consent is recorded later by a team leader,
    school administrator or organiser (guardian_consent_record). 14–17: the volunteer confirms that their
    guardian agrees. 18 and over: nothing more.
    """
    real_name, phone = real_name.strip(), phone.strip()
    emergency_contact_name, emergency_contact_phone = (
        emergency_contact_name.strip(),
        emergency_contact_phone.strip(),
    )
    guardian_name, guardian_phone = guardian_name.strip(), guardian_phone.strip()
    if not real_name:
        raise VolunteerError("real_name_required", _("Please give your real name."))
    if not phone:
        raise VolunteerError("phone_required", _("Please give a phone number."))
    if not (emergency_contact_name and emergency_contact_phone):
        raise VolunteerError(
            "emergency_contact_required", _("Please give an emergency contact's name and phone number.")
        )
    skills = list(dict.fromkeys(skills))
    unknown = [code for code in skills if code not in Skill.values]
    if unknown:
        raise VolunteerError("unknown_skill", _("Unknown skill: %(skill)s.") % {"skill": unknown[0]})
    today = _local_date(now)
    if birth_date >= today or age_on(birth_date, today) > 120:
        raise VolunteerError("birth_date_invalid", _("Please check the date of birth."))
    age = age_on(birth_date, today)
    consent_at, consent_by = None, None
    if age < ADULT_AGE:
        if age < SELF_CONSENT_AGE and not (guardian_name and guardian_phone):
            raise VolunteerError(
                "guardian_required",
                _("Volunteers under 14 need a guardian: please give their name and phone number."),
            )
        if age >= SELF_CONSENT_AGE:
            if not guardian_agrees:
                raise VolunteerError(
                    "guardian_consent_required",
                    _("Volunteers under 18 need their guardian's agreement: please confirm that they agree."),
                )
            consent_at, consent_by = now, user
    with transaction.atomic():
        number = _next_in_sequence(f"volunteer:{region.code}")
        try:
            with transaction.atomic():
                profile = VolunteerProfile.objects.create(
                    user=user,
                    real_name=real_name,
                    phone=phone,
                    birth_date=birth_date,
                    region=region,
                    school=school,
                    skills=skills,
                    emergency_contact_name=emergency_contact_name,
                    emergency_contact_phone=emergency_contact_phone,
                    volunteer_number=f"V{region.code}{number:06d}",
                    guardian_name=guardian_name,
                    guardian_phone=guardian_phone,
                    guardian_consent_at=consent_at,
                    guardian_consent_recorded_by=consent_by,
                    language=_registration_language(),
                    created_at=now,
                )
        except IntegrityError:
            raise VolunteerError(
                "already_registered", _("You are already registered as a volunteer.")
            ) from None
        if not user.is_volunteer:
            User.objects.filter(pk=user.pk).update(is_volunteer=True)
            user.is_volunteer = True
    return profile


def volunteer_profile_update(
    *,
    volunteer: VolunteerProfile,
    by: User,
    real_name: str,
    phone: str,
    region: Region,
    school: School | None = None,
    skills: Iterable[str] = (),
    emergency_contact_name: str,
    emergency_contact_phone: str,
    now: datetime,
) -> VolunteerProfile:
    """The volunteer edits their own profile; the volunteer number and the date of birth never change.

    A move to another region or school carries the volunteer's approved hours from the old rollup to the
    new one, in the same transaction, so that region and school totals keep agreeing with the records.
    """
    if by.pk != volunteer.user_id:
        raise PermissionDenied
    real_name, phone = real_name.strip(), phone.strip()
    emergency_contact_name, emergency_contact_phone = (
        emergency_contact_name.strip(),
        emergency_contact_phone.strip(),
    )
    if not real_name:
        raise VolunteerError("real_name_required", _("Please give your real name."))
    if not phone:
        raise VolunteerError("phone_required", _("Please give a phone number."))
    if not (emergency_contact_name and emergency_contact_phone):
        raise VolunteerError(
            "emergency_contact_required", _("Please give an emergency contact's name and phone number.")
        )
    skills = list(dict.fromkeys(skills))
    unknown = [code for code in skills if code not in Skill.values]
    if unknown:
        raise VolunteerError("unknown_skill", _("Unknown skill: %(skill)s.") % {"skill": unknown[0]})
    with transaction.atomic():
        profile = _lock_profile(volunteer)
        old_region, old_school_id = profile.region, profile.school_id
        profile.real_name, profile.phone, profile.region, profile.school = real_name, phone, region, school
        profile.skills = skills
        profile.emergency_contact_name = emergency_contact_name
        profile.emergency_contact_phone = emergency_contact_phone
        profile.save(
            update_fields=[
                "real_name",
                "phone",
                "region",
                "region_path",
                "school",
                "skills",
                "emergency_contact_name",
                "emergency_contact_phone",
            ]
        )
        # After the profile's own write, as approvals do (the rollups are always written last).
        new_school_id = school.pk if school is not None else None
        if profile.approved_minutes and (old_region.pk != region.pk or old_school_id != new_school_id):
            minutes, records = profile.approved_minutes, _counting_records(profile)
            if old_region.pk != region.pk:
                # In the order of their keys, as approvals move rows (no deadlock between two moves).
                for place, sign in sorted([(old_region, -1), (region, 1)], key=lambda move: move[0].pk):
                    _region_total_add(
                        region=place, minutes=sign * minutes, records=sign * records, volunteers=sign
                    )
            if old_school_id != new_school_id:
                moves = [(old_school_id, -1), (new_school_id, 1)]
                for school_id, sign in sorted(moves, key=lambda move: move[0] or 0):
                    _school_total_add(
                        school_id=school_id, minutes=sign * minutes, records=sign * records, volunteers=sign
                    )
    return profile


def guardian_consent_record(
    *, volunteer: VolunteerProfile, recorded_by: User, now: datetime
) -> VolunteerProfile:
    """Record that the volunteer's guardian has consented: by someone who saw the consent (a leader of one of
    their teams, their school's administrator, an organiser of their region) or, from 14, by the volunteer."""
    age = volunteer.age_on(_local_date(now))
    is_self = recorded_by.pk == volunteer.user_id
    if is_self and age < SELF_CONSENT_AGE:
        raise VolunteerError(
            "consent_needs_adult",
            _(
                "For volunteers under 14 a team leader, the school or an organiser records the guardian's "
                "consent."
            ),
        )
    if not is_self and not can_manage_volunteer(user=recorded_by, volunteer=volunteer):
        raise PermissionDenied
    if not is_self and _vouches_as_minor(recorded_by, _local_date(now)):
        # A team leader vouches for a guardian's signature; a 15-year-old leading friends cannot.
        raise VolunteerError(
            "consent_needs_adult", _("Only an adult can record a guardian's consent for someone else.")
        )
    if not (volunteer.guardian_name and volunteer.guardian_phone) and age < SELF_CONSENT_AGE:
        raise VolunteerError(
            "guardian_contact_missing", _("The guardian's name and phone number are needed first.")
        )
    VolunteerProfile.objects.filter(pk=volunteer.pk).update(
        guardian_consent_at=now, guardian_consent_recorded_by=recorded_by
    )
    volunteer.guardian_consent_at, volunteer.guardian_consent_recorded_by = now, recorded_by
    return volunteer


def _vouches_as_minor(user: User, today: date) -> bool:
    """A volunteer under 18 whose only standing is leading a team (not staff of a school or a region)."""
    if user.is_superuser or user.is_organiser or user.is_school_admin:
        return False
    profile = VolunteerProfile.objects.filter(user_id=user.pk).only("birth_date").first()
    return profile is not None and profile.age_on(today) < ADULT_AGE


def team_create(
    *, name: str, kind: str, region: Region, school: School | None = None, leader: VolunteerProfile
) -> Team:
    name = name.strip()
    if not name:
        raise VolunteerError("name_required", _("Please give the team a name."))
    if kind not in Team.Kind.values:
        raise VolunteerError("unknown_kind", _("Unknown kind of team."))
    if kind == Team.Kind.SCHOOL and school is None:
        raise VolunteerError("school_required", _("A school team needs its school."))
    with transaction.atomic():
        leader = _lock_profile(leader)
        team = Team.objects.create(name=name, kind=kind, region=region, school=school)
        TeamMembership.objects.create(team=team, volunteer=leader, is_leader=True)
        _membership_moves_hours(team=team, volunteer=leader, sign=1)
    return team


def team_member_add(*, team: Team, volunteer: VolunteerProfile, by: User) -> TeamMembership:
    """A leader (or an organiser) adds a member; their approved hours join the team's rollup in the same
    transaction, under the lock on their profile that approvals take too."""
    if not can_lead_team(user=by, team=team):
        raise PermissionDenied
    with transaction.atomic():
        profile = _lock_profile(volunteer)
        try:
            with transaction.atomic():
                membership = TeamMembership.objects.create(team=team, volunteer=profile)
        except IntegrityError:
            raise VolunteerError("already_member", _("This volunteer is already in the team.")) from None
        _membership_moves_hours(team=team, volunteer=profile, sign=1)
    return membership


def team_member_remove(*, team: Team, volunteer: VolunteerProfile, by: User) -> None:
    """A leader (or an organiser) removes a member; a member may leave. The last leader stays."""
    if by.pk != volunteer.user_id and not can_lead_team(user=by, team=team):
        raise PermissionDenied
    with transaction.atomic():
        # Locking the team's memberships makes "is this the last leader?" and the delete one step.
        memberships = list(TeamMembership.objects.select_for_update().filter(team=team))
        membership = next((m for m in memberships if m.volunteer_id == volunteer.pk), None)
        if membership is None:
            raise VolunteerError("not_member", _("This volunteer is not in the team."))
        if membership.is_leader and sum(m.is_leader for m in memberships) == 1:
            raise VolunteerError("last_leader", _("A team needs a leader: name another leader first."))
        profile = _lock_profile(volunteer)
        membership.delete()
        _membership_moves_hours(team=team, volunteer=profile, sign=-1)


# --- activities --------------------------------------------------------------------------------------------


def _validated_shift(spec: dict) -> dict:
    starts_at, ends_at = spec.get("starts_at"), spec.get("ends_at")
    capacity = spec.get("capacity")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime) or ends_at <= starts_at:
        raise VolunteerError("shift_times", _("A shift must end after it starts."))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("shift times must be timezone-aware")
    if not isinstance(capacity, int) or capacity < 1:
        raise VolunteerError("shift_capacity", _("A shift needs at least one place."))
    return {
        "role": str(spec.get("role", "")).strip()[:100],
        "starts_at": starts_at,
        "ends_at": ends_at,
        "capacity": capacity,
    }


def _activity_fields(
    *,
    campaign: Campaign,
    title: str,
    description: str,
    address: str,
    region: Region,
    min_age: int,
    skills_required: Iterable[str],
    signup_opens_at: datetime,
    signup_closes_at: datetime,
    open_to: str,
    team: Team | None,
    school: School | None,
    latitude,
    longitude,
    is_published: bool,
) -> dict:
    """The checked model fields of an activity, shared by activity_create and activity_update."""
    title, address = title.strip(), address.strip()
    if not title:
        raise VolunteerError("title_required", _("Please give the activity a title."))
    if not address:
        raise VolunteerError("address_required", _("Please give the activity's address."))
    if not region.path.startswith(campaign.region.path):
        raise VolunteerError(
            "region_outside_campaign",
            _("The activity must take place within the campaign's region (%(region)s).")
            % {"region": campaign.region.display_name},
        )
    if signup_closes_at <= signup_opens_at:
        raise VolunteerError("signup_window", _("Sign-up must close after it opens."))
    if not 0 <= min_age <= 100:
        raise VolunteerError("min_age", _("Please check the minimum age."))
    skills_required = list(dict.fromkeys(skills_required))
    unknown = [code for code in skills_required if code not in Skill.values]
    if unknown:
        raise VolunteerError("unknown_skill", _("Unknown skill: %(skill)s.") % {"skill": unknown[0]})
    if open_to not in Activity.OpenTo.values:
        raise VolunteerError("open_to", _("Unknown audience for the activity."))
    if open_to == Activity.OpenTo.TEAM and team is None:
        raise VolunteerError("team_required", _("Choose the team the activity is open to."))
    if open_to == Activity.OpenTo.SCHOOL and school is None:
        raise VolunteerError("school_required", _("Choose the school the activity is open to."))
    return {
        "title": title,
        "description": description.strip(),
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
        "region": region,
        "min_age": min_age,
        "skills_required": skills_required,
        "signup_opens_at": signup_opens_at,
        "signup_closes_at": signup_closes_at,
        "open_to": open_to,
        "team": team if open_to == Activity.OpenTo.TEAM else None,
        "school": school if open_to == Activity.OpenTo.SCHOOL else None,
        "is_published": is_published,
    }


def activity_create(
    *,
    campaign: Campaign,
    created_by: User,
    title: str,
    description: str,
    address: str,
    region: Region,
    shifts: list[dict],
    min_age: int = 0,
    skills_required: Iterable[str] = (),
    signup_opens_at: datetime,
    signup_closes_at: datetime,
    open_to: str = Activity.OpenTo.ANYONE,
    team: Team | None = None,
    school: School | None = None,
    latitude=None,
    longitude=None,
    is_published: bool = True,
) -> Activity:
    """An activity of a campaign with its shifts (dicts of role, starts_at, ends_at, capacity); the creator
    becomes one of its organisers."""
    if not can_create_activity(user=created_by, campaign=campaign):
        raise PermissionDenied
    fields = _activity_fields(
        campaign=campaign,
        title=title,
        description=description,
        address=address,
        region=region,
        min_age=min_age,
        skills_required=skills_required,
        signup_opens_at=signup_opens_at,
        signup_closes_at=signup_closes_at,
        open_to=open_to,
        team=team,
        school=school,
        latitude=latitude,
        longitude=longitude,
        is_published=is_published,
    )
    if not shifts:
        raise VolunteerError("no_shifts", _("An activity needs at least one shift."))
    shift_fields = [_validated_shift(spec) for spec in shifts]
    with transaction.atomic():
        activity = Activity.objects.create(campaign=campaign, created_by=created_by, **fields)
        activity.organisers.add(created_by)
        Shift.objects.bulk_create([Shift(activity=activity, **fields) for fields in shift_fields])
    return activity


def activity_update(
    *,
    activity: Activity,
    by: User,
    title: str,
    description: str,
    address: str,
    region: Region,
    min_age: int = 0,
    skills_required: Iterable[str] = (),
    signup_opens_at: datetime,
    signup_closes_at: datetime,
    open_to: str = Activity.OpenTo.ANYONE,
    team: Team | None = None,
    school: School | None = None,
    latitude=None,
    longitude=None,
    is_published: bool = True,
) -> Activity:
    """Change an activity's details (its shifts have shift_add and shift_capacity_change). Volunteers already
    signed up keep their places: a new age, skill or audience rule applies to new sign-ups."""
    if not can_organise_activity(user=by, activity=activity):
        raise PermissionDenied
    fields = _activity_fields(
        campaign=activity.campaign,
        title=title,
        description=description,
        address=address,
        region=region,
        min_age=min_age,
        skills_required=skills_required,
        signup_opens_at=signup_opens_at,
        signup_closes_at=signup_closes_at,
        open_to=open_to,
        team=team,
        school=school,
        latitude=latitude,
        longitude=longitude,
        is_published=is_published,
    )
    with transaction.atomic():
        for name, value in fields.items():
            setattr(activity, name, value)
        activity.save(update_fields=[*fields, "region_path"])
        # The rollup's copy of the path follows, so the activity is counted under its new region.
        ActivityHourTotal.objects.filter(activity=activity).update(region_path=activity.region_path)
    return activity


def shift_add(
    *, activity: Activity, by: User, starts_at: datetime, ends_at: datetime, capacity: int, role: str = ""
) -> Shift:
    """One more shift for an existing activity."""
    if not can_organise_activity(user=by, activity=activity):
        raise PermissionDenied
    fields = _validated_shift(
        {"role": role, "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity}
    )
    return Shift.objects.create(activity=activity, **fields)


def shift_capacity_change(*, shift: Shift, capacity: int, by: User) -> int:
    """Set a shift's places, never below its confirmed volunteers; new places go to the waiting list in
    order, in the same transaction (and they are told by e-mail). Returns how many moved up."""
    if not can_organise_activity(user=by, activity=shift.activity):
        raise PermissionDenied
    if not isinstance(capacity, int) or capacity < 1:
        raise VolunteerError("shift_capacity", _("A shift needs at least one place."))
    with transaction.atomic():
        shift = Shift.objects.select_for_update(of=("self",)).select_related("activity").get(pk=shift.pk)
        confirmed = Signup.objects.filter(shift=shift, status=Signup.Status.CONFIRMED).count()
        if capacity < confirmed:
            raise VolunteerError(
                "capacity_below_confirmed",
                ngettext(
                    "%(count)s volunteer is confirmed for this shift: it needs at least %(count)s place. "
                    "Cancel sign-ups first to have fewer places.",
                    "%(count)s volunteers are confirmed for this shift: it needs at least %(count)s places. "
                    "Cancel sign-ups first to have fewer places.",
                    confirmed,
                )
                % {"count": confirmed},
            )
        Shift.objects.filter(pk=shift.pk).update(capacity=capacity)
        return _promote_waiting(shift=shift, places=capacity - confirmed)


def activity_organiser_add(*, activity: Activity, user: User, by: User) -> None:
    """Make another person (a teacher, a community worker) an organiser of this activity."""
    if not can_organise_activity(user=by, activity=activity):
        raise PermissionDenied
    activity.organisers.add(user)


# --- sign-ups ----------------------------------------------------------------------------------------------


def _signup_refusal(*, shift: Shift, volunteer: VolunteerProfile, now: datetime) -> VolunteerError | None:
    activity = shift.activity
    if not (activity.is_published and activity.campaign.is_published):
        return VolunteerError("not_open", _("This activity is not open for sign-up."))
    if now < activity.signup_opens_at:
        return VolunteerError(
            "signup_not_open_yet",
            _("Sign-up opens at %(when)s.") % {"when": _when(activity.signup_opens_at)},
        )
    if now >= activity.signup_closes_at:
        return VolunteerError("signup_closed", _("Sign-up for this activity has closed."))
    if now >= shift.starts_at:
        return VolunteerError("shift_started", _("This shift has already started."))
    if (
        activity.open_to == Activity.OpenTo.TEAM
        and not TeamMembership.objects.filter(team_id=activity.team_id, volunteer=volunteer).exists()
    ):
        return VolunteerError("not_in_team", _("This activity is open to its team's members only."))
    if activity.open_to == Activity.OpenTo.SCHOOL and volunteer.school_id != activity.school_id:
        return VolunteerError("not_in_school", _("This activity is open to its school's volunteers only."))
    age = volunteer.age_on(_local_date(shift.starts_at))
    if age < activity.min_age:
        return VolunteerError(
            "too_young",
            _("Volunteers for this activity must be at least %(age)s.") % {"age": activity.min_age},
        )
    if age < ADULT_AGE and volunteer.guardian_consent_at is None:
        if age < SELF_CONSENT_AGE:
            return VolunteerError(
                "guardian_consent_missing",
                _(
                    "Before you sign up, your team leader, your school or an organiser must record your "
                    "guardian's consent."
                ),
            )
        return VolunteerError(
            "guardian_consent_missing", _("Before you sign up, please confirm that your guardian agrees.")
        )
    missing = [code for code in activity.skills_required if code not in (volunteer.skills or [])]
    if missing:
        return VolunteerError(
            "skills_missing",
            _("This activity needs: %(skills)s.")
            % {"skills": ", ".join(str(Skill(code).label) for code in missing)},
        )
    return None


def shift_signup(*, shift: Shift, volunteer: VolunteerProfile, now: datetime) -> Signup:
    """Sign up for a shift: confirmed while there are places, else on the waiting list; never overbooked."""
    with transaction.atomic():
        # Lock order, everywhere: the volunteer's profile, then the shift.
        volunteer = _lock_profile(volunteer)
        shift = (
            Shift.objects.select_for_update(of=("self",))
            .select_related("activity__campaign")
            .get(pk=shift.pk)
        )
        refusal = _signup_refusal(shift=shift, volunteer=volunteer, now=now)
        if refusal is not None:
            raise refusal
        live = Signup.objects.filter(
            volunteer=volunteer, status__in=[Signup.Status.CONFIRMED, Signup.Status.WAITLISTED]
        )
        if live.filter(shift=shift).exists():
            raise VolunteerError("already_signed_up", _("You have already signed up for this shift."))
        clash = (
            live.filter(shift__starts_at__lt=shift.ends_at, shift__ends_at__gt=shift.starts_at)
            .select_related("shift__activity")
            .first()
        )
        if clash is not None:
            raise VolunteerError(
                "clash",
                _("This shift overlaps another you signed up for: %(activity)s, %(when)s.")
                % {"activity": clash.shift.activity.title, "when": _when(clash.shift.starts_at)},
            )
        taken = Signup.objects.filter(shift=shift, status=Signup.Status.CONFIRMED).count()
        status = Signup.Status.CONFIRMED if taken < shift.capacity else Signup.Status.WAITLISTED
        try:
            with transaction.atomic():
                return Signup.objects.create(shift=shift, volunteer=volunteer, status=status, created_at=now)
        except IntegrityError:
            raise VolunteerError(
                "already_signed_up", _("You have already signed up for this shift.")
            ) from None


def _promotion_email(signup: Signup) -> mail.EmailMessage | None:
    user = signup.volunteer.user
    if not user.email:
        return None
    with translation.override(signup.volunteer.language or settings.LANGUAGE_CODE):
        shift = signup.shift
        subject = _("You have a place: %(activity)s") % {"activity": shift.activity.title}
        body = _(
            "A place has come free and you are now confirmed for %(activity)s (%(role)s), %(start)s – "
            "%(end)s, at %(address)s.\n\nIf you cannot come, please cancel so that the next person on the "
            "waiting list gets the place."
        ) % {
            "activity": shift.activity.title,
            "role": shift.role or "-",
            "start": _when(shift.starts_at),
            "end": f"{_local(shift.ends_at):%H:%M}",
            "address": shift.activity.address,
        }
    return mail.EmailMessage(subject=subject, body=body, to=[user.email])


def _promote_waiting(*, shift: Shift, places: int) -> int:
    """Confirm the first `places` of the shift's waiting list; the caller holds the shift's row lock."""
    if places <= 0:
        return 0
    promoted = list(
        Signup.objects.filter(shift=shift, status=Signup.Status.WAITLISTED)
        .select_related("volunteer__user", "shift__activity")
        .order_by("created_at", "pk")[:places]
    )
    if promoted:
        Signup.objects.filter(pk__in=[p.pk for p in promoted]).update(status=Signup.Status.CONFIRMED)
        _send_on_commit([m for m in map(_promotion_email, promoted) if m is not None])
    return len(promoted)


def signup_cancel(*, signup: Signup, by: User, now: datetime) -> Signup:
    """Cancel a sign-up (the volunteer, or an organiser of the activity); a freed place goes to the first on
    the waiting list in the same transaction."""
    activity = signup.shift.activity
    is_owner = by.pk == signup.volunteer.user_id
    if not is_owner and not can_organise_activity(user=by, activity=activity):
        raise PermissionDenied
    with transaction.atomic():
        shift = (
            Shift.objects.select_for_update(of=("self",)).select_related("activity").get(pk=signup.shift_id)
        )
        signup = Signup.objects.select_related("volunteer__user").get(pk=signup.pk)
        if signup.status == Signup.Status.CANCELLED:
            raise VolunteerError("already_cancelled", _("This sign-up is already cancelled."))
        if signup.checked_in_at is not None:
            raise VolunteerError(
                "already_checked_in",
                _("You have checked in for this shift: check out instead of cancelling."),
            )
        if is_owner and now >= shift.starts_at:
            raise VolunteerError(
                "shift_started", _("This shift has already started; please tell the organiser instead.")
            )
        was_confirmed = signup.status == Signup.Status.CONFIRMED
        signup.status, signup.cancelled_at = Signup.Status.CANCELLED, now
        signup.save(update_fields=["status", "cancelled_at"])
        if was_confirmed:
            taken = Signup.objects.filter(shift=shift, status=Signup.Status.CONFIRMED).count()
            _promote_waiting(shift=shift, places=shift.capacity - taken)
    return signup


# --- check-in and check-out --------------------------------------------------------------------------------


def checkin_by_code(*, activity: Activity, volunteer: VolunteerProfile, token: str, now: datetime) -> Signup:
    """Check in by scanning the activity's rotating QR code, for the volunteer's shift under way (or starting
    within the hour). Scanning twice is harmless."""
    if not checkin_codes.token_valid(activity.checkin_secret, activity.pk, token, now):
        raise VolunteerError(
            "bad_code",
            _("This check-in code has expired or belongs to another activity: please scan it again."),
        )
    signups = Signup.objects.filter(
        volunteer=volunteer,
        shift__activity=activity,
        shift__starts_at__lte=now + CHECKIN_OPENS_BEFORE,
        shift__ends_at__gt=now,
    ).select_related("shift")
    signup = signups.filter(status=Signup.Status.CONFIRMED).order_by("shift__starts_at").first()
    if signup is None:
        if signups.filter(status=Signup.Status.WAITLISTED).exists():
            raise VolunteerError(
                "waitlisted", _("You are on the waiting list for this shift: please ask the organiser.")
            )
        raise VolunteerError(
            "no_shift_now",
            _("You have no shift of this activity now. Check-in opens an hour before a shift."),
        )
    return _checkin(signup=signup, method=Signup.CheckinMethod.QR, now=now)


def _checkin(*, signup: Signup, method: str, now: datetime) -> Signup:
    updated = Signup.objects.filter(
        pk=signup.pk, status=Signup.Status.CONFIRMED, checked_in_at__isnull=True
    ).update(checked_in_at=now, checkin_method=method)
    signup.refresh_from_db()
    if not updated:
        if signup.checked_out_at is not None:
            raise VolunteerError("already_checked_out", _("You have already checked out of this shift."))
        if signup.checked_in_at is None:
            raise VolunteerError("not_confirmed", _("Only confirmed volunteers can check in."))
    return signup


def checkin_by_organiser(*, signup: Signup, by: User, now: datetime) -> Signup:
    """An organiser ticks a volunteer in (paper sign-in sheet, a phone without a camera)."""
    shift = signup.shift
    if not can_organise_activity(user=by, activity=shift.activity):
        raise PermissionDenied
    if signup.status != Signup.Status.CONFIRMED:
        raise VolunteerError("not_confirmed", _("Only confirmed volunteers can check in."))
    if now < shift.starts_at - CHECKIN_OPENS_BEFORE:
        raise VolunteerError("too_early", _("Check-in opens an hour before the shift starts."))
    if now >= shift.ends_at:
        raise VolunteerError(
            "shift_over", _("This shift is over: record the volunteer's hours afterwards instead.")
        )
    return _checkin(signup=signup, method=Signup.CheckinMethod.ORGANISER, now=now)


def _record_from_checkin(
    *,
    signup: Signup,
    volunteer: VolunteerProfile,
    interval: Interval,
    recorded_by: User | None,
    now: datetime,
    flag_reason: str = "",
) -> HourRecord:
    verdict = _verdict(volunteer=volunteer, interval=interval, now=now)
    if not verdict.ok and not flag_reason:
        flag_reason = HourRecord.FlagReason.RULES
    activity = signup.shift.activity
    role = signup.shift.role
    return HourRecord.objects.create(
        volunteer=volunteer,
        activity=activity,
        signup=signup,
        started_at=interval.start,
        ended_at=interval.end,
        minutes=interval.minutes,
        content=f"{activity.title}（{role}）" if role else activity.title,
        place=activity.address,
        source=HourRecord.Source.CHECKIN,
        flagged=bool(flag_reason),
        flag_reason=flag_reason,
        approver_level=_approver_level(verdict),
        recorded_by=recorded_by,
        created_at=now,
    )


def checkout(*, signup: Signup, by: User, now: datetime) -> HourRecord:
    """Check out (the volunteer or an organiser): the time served within the shift makes a pending record."""
    shift = signup.shift
    if by.pk != signup.volunteer.user_id and not can_organise_activity(user=by, activity=shift.activity):
        raise PermissionDenied
    if signup.checked_in_at is None:
        raise VolunteerError("not_checked_in", _("Check in first."))
    if signup.checked_out_at is not None:
        raise VolunteerError("already_checked_out", _("You have already checked out of this shift."))
    interval = rules_module.credited_interval(
        check_in=signup.checked_in_at, check_out=now, shift_start=shift.starts_at, shift_end=shift.ends_at
    )
    if interval.minutes == 0:
        raise VolunteerError(
            "nothing_to_record",
            _("No service within the shift's time yet: check out after the shift has started."),
        )
    with transaction.atomic():
        volunteer = _lock_profile(signup.volunteer)
        if not Signup.objects.filter(pk=signup.pk, checked_out_at__isnull=True).update(checked_out_at=now):
            raise VolunteerError("already_checked_out", _("You have already checked out of this shift."))
        signup.checked_out_at = now
        return _record_from_checkin(
            signup=signup, volunteer=volunteer, interval=interval, recorded_by=by, now=now
        )


def missed_checkouts_close(
    *,
    now: datetime,
    activities: Iterable[Activity] | QuerySet[Activity] | None = None,
    volunteer: VolunteerProfile | None = None,
) -> int:
    """Close check-ins left open after their shift ended, at the shift's end; their records are flagged.

    The command close_missed_checkouts closes every one; the roster, the hour queue and the volunteer's own
    page close those of their activities or volunteer as they load, so that the embedded default needs no
    scheduler. Each check-in is closed once, whoever gets there first.
    """
    open_signups = Signup.objects.filter(
        status=Signup.Status.CONFIRMED,
        checked_in_at__isnull=False,
        checked_out_at__isnull=True,
        shift__ends_at__lte=now,
    ).select_related("shift__activity", "volunteer")
    if activities is not None:
        open_signups = open_signups.filter(shift__activity__in=activities)
    if volunteer is not None:
        open_signups = open_signups.filter(volunteer=volunteer)
    closed = 0
    for signup in open_signups.iterator():
        shift = signup.shift
        closes_at = rules_module.auto_checkout(check_in=signup.checked_in_at, shift_end=shift.ends_at)
        with transaction.atomic():
            volunteer = _lock_profile(signup.volunteer)
            if not Signup.objects.filter(pk=signup.pk, checked_out_at__isnull=True).update(
                checked_out_at=closes_at, auto_closed=True
            ):
                continue  # someone checked out in the meantime
            closed += 1
            interval = rules_module.credited_interval(
                check_in=signup.checked_in_at,
                check_out=closes_at,
                shift_start=shift.starts_at,
                shift_end=shift.ends_at,
            )
            if interval.minutes:
                _record_from_checkin(
                    signup=signup,
                    volunteer=volunteer,
                    interval=interval,
                    recorded_by=None,
                    now=now,
                    flag_reason=HourRecord.FlagReason.MISSED_CHECKOUT,
                )
    return closed


# --- hour records ------------------------------------------------------------------------------------------


def hour_backfill(
    *,
    volunteer: VolunteerProfile,
    activity: Activity,
    started_at: datetime,
    ended_at: datetime,
    content: str,
    recorded_by: User,
    now: datetime,
) -> HourRecord:
    """Record service after the event (no check-in): by the volunteer or an organiser of the activity; the
    record is flagged for the approver and must keep every hour rule."""
    if recorded_by.pk != volunteer.user_id and not can_organise_activity(user=recorded_by, activity=activity):
        raise PermissionDenied
    content = content.strip()
    if not content:
        raise VolunteerError("content_required", _("Please describe the service."))
    if ended_at <= started_at:
        raise VolunteerError("not_positive", _("The service must end after it starts."))
    interval = Interval(start=started_at, end=ended_at)
    with transaction.atomic():
        volunteer = _lock_profile(volunteer)
        verdict = _verdict(volunteer=volunteer, interval=interval, now=now, backfill=True)
        if not verdict.ok:
            raise _rule_error(verdict)
        return HourRecord.objects.create(
            volunteer=volunteer,
            activity=activity,
            started_at=started_at,
            ended_at=ended_at,
            minutes=verdict.minutes,
            content=content,
            place=activity.address,
            source=HourRecord.Source.BACKFILL,
            flagged=True,
            flag_reason=HourRecord.FlagReason.BACKFILL,
            approver_level=_approver_level(verdict),
            recorded_by=recorded_by,
            created_at=now,
        )


def _decidable(record: HourRecord, approver: User) -> None:
    if not can_organise_activity(user=approver, activity=record.activity):
        raise PermissionDenied
    if approver.pk == record.volunteer.user_id:
        raise VolunteerError("own_record", _("Nobody approves their own hours: another organiser must."))


def hour_record_approve(*, record: HourRecord, approver: User, now: datetime) -> HourRecord:
    """Approve a pending record after checking every hour rule again; the volunteer's and their region's
    totals move in the same transaction (by the difference, for a correction)."""
    _decidable(record, approver)
    with transaction.atomic():
        volunteer = _lock_profile(record.volunteer)
        record = HourRecord.objects.select_related("activity__campaign__region", "corrects").get(pk=record.pk)
        if record.status != HourRecord.Status.PENDING:
            raise VolunteerError("not_pending", _("This record has already been decided."))
        leave_out = [record.pk] + ([record.corrects_id] if record.corrects_id else [])
        verdict = _verdict(volunteer=volunteer, interval=record.interval, now=now, leave_out=leave_out)
        if not verdict.ok:
            raise _rule_error(verdict)
        level = _approver_level(verdict)
        if level == HourRecord.ApproverLevel.CAMPAIGN and not can_approve_campaign_level(
            user=approver, activity=record.activity
        ):
            raise VolunteerError(
                "needs_campaign_organiser",
                _("More than %(hours)s hours on one day: the campaign's organiser must approve this record.")
                % {"hours": f"{hour_rules().activity_max_daily_minutes / 60:g}"},
            )
        minutes_delta, records_delta = record.minutes, 1
        if record.corrects_id:
            corrected = record.corrects
            if corrected.status != HourRecord.Status.APPROVED:
                raise VolunteerError("not_approved", _("Only approved records are corrected."))
            minutes_delta, records_delta = record.minutes - corrected.minutes, 0
        updated = HourRecord.objects.filter(pk=record.pk, status=HourRecord.Status.PENDING).update(
            status=HourRecord.Status.APPROVED, decided_by=approver, decided_at=now, approver_level=level
        )
        if not updated:
            raise VolunteerError("not_pending", _("This record has already been decided."))
        VolunteerProfile.objects.filter(pk=volunteer.pk).update(
            approved_minutes=F("approved_minutes") + minutes_delta
        )
        _record_totals_add(
            record=record, volunteer=volunteer, minutes_delta=minutes_delta, records_delta=records_delta
        )
        transaction.on_commit(lambda: signals.hours_approved.send(sender=HourRecord, record=record))
    record.refresh_from_db()
    return record


def hour_records_approve(*, records: Iterable[HourRecord], approver: User, now: datetime) -> int:
    """Approve many records, each in its own transaction: one that breaks a rule or needs a higher approver
    stays pending and the others go through. Returns how many were approved."""
    approved = 0
    for record in records:
        try:
            hour_record_approve(record=record, approver=approver, now=now)
        except (VolunteerError, PermissionDenied):
            continue
        approved += 1
    return approved


def hour_record_reject(*, record: HourRecord, approver: User, reason: str, now: datetime) -> HourRecord:
    _decidable(record, approver)
    # The same reach as the gate (hour_record_for_approver): a day above the activity organiser's limit is
    # decided, either way, by the campaign's organiser.
    if record.approver_level == HourRecord.ApproverLevel.CAMPAIGN and not can_approve_campaign_level(
        user=approver, activity=record.activity
    ):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise VolunteerError(
            "reason_required", _("Please give the reason, so that the volunteer can act on it.")
        )
    updated = HourRecord.objects.filter(pk=record.pk, status=HourRecord.Status.PENDING).update(
        status=HourRecord.Status.REJECTED, reject_reason=reason, decided_by=approver, decided_at=now
    )
    if not updated:
        raise VolunteerError("not_pending", _("This record has already been decided."))
    record.refresh_from_db()
    return record


def hour_record_correct(
    *,
    record: HourRecord,
    started_at: datetime,
    ended_at: datetime,
    content: str,
    requested_by: User,
    now: datetime,
    reason: str = "",
) -> HourRecord:
    """Ask for a correction of an approved record (the volunteer, or an organiser of the activity): a new
    pending record that, once approved, replaces it in every total; the approved record never changes."""
    if requested_by.pk != record.volunteer.user_id and not can_organise_activity(
        user=requested_by, activity=record.activity
    ):
        raise PermissionDenied
    content = content.strip()
    if not content:
        raise VolunteerError("content_required", _("Please describe the service."))
    if ended_at <= started_at:
        raise VolunteerError("not_positive", _("The service must end after it starts."))
    with transaction.atomic():
        volunteer = _lock_profile(record.volunteer)
        record = HourRecord.objects.get(pk=record.pk)
        if record.status != HourRecord.Status.APPROVED:
            raise VolunteerError(
                "not_approved", _("Only approved records are corrected; ask the organiser instead.")
            )
        if HourRecord.objects.filter(pk=record.pk).superseded().exists():
            raise VolunteerError(
                "superseded", _("This record has been corrected already: correct the newer one.")
            )
        if (started_at, ended_at, content) == (record.started_at, record.ended_at, record.content):
            raise VolunteerError("no_change", _("The correction changes nothing."))
        interval = Interval(start=started_at, end=ended_at)
        verdict = _verdict(volunteer=volunteer, interval=interval, now=now, leave_out=[record.pk])
        if not verdict.ok:
            raise _rule_error(verdict)
        try:
            with transaction.atomic():
                return HourRecord.objects.create(
                    volunteer=volunteer,
                    activity=record.activity,
                    signup=record.signup,
                    started_at=started_at,
                    ended_at=ended_at,
                    minutes=verdict.minutes,
                    content=content,
                    place=record.place,
                    source=HourRecord.Source.CORRECTION,
                    approver_level=_approver_level(verdict),
                    recorded_by=requested_by,
                    corrects=record,
                    correction_reason=reason.strip(),
                    created_at=now,
                )
        except IntegrityError:
            raise VolunteerError(
                "correction_pending", _("A correction of this record is already waiting for approval.")
            ) from None


# --- certificates ------------------------------------------------------------------------------------------

# Division names that stand for "the districts of a municipality" rather than a place of their own.
_PLACEHOLDER_DIVISIONS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


def _office_name(region: Region) -> str:
    """The anti-drug office of a region by its official name, 长沙市岳麓区禁毒委员会办公室: a county or
    district is named with its city, as on an official seal. It is the organisation's own name, so it reads
    the same on a certificate in any language."""
    names = [region.name]
    parent = region.parent if region.level == Region.Level.COUNTY else None
    while parent is not None and parent.name in _PLACEHOLDER_DIVISIONS:
        parent = parent.parent
    if parent is not None:
        names.insert(0, parent.name)
    return f"{''.join(names)}禁毒委员会办公室"[: Certificate._meta.get_field("issuer_name").max_length]


def _issuing_office(records) -> str:
    """Who issues a certificate, as the Measures mean it: the organisation that organised and recorded the
    service — the anti-drug office whose campaigns the records belong to, or, for campaigns of several
    regions, the office of the smallest region that holds them all (Yuelu's and Kaifu's: Changsha's)."""
    paths = list(records.values_list("activity__campaign__region__path", flat=True).distinct())
    common = paths[0].rstrip("/").split("/") if paths else []
    for path in paths[1:]:
        segments = path.rstrip("/").split("/")
        length = 0
        while length < min(len(common), len(segments)) and common[length] == segments[length]:
            length += 1
        common = common[:length]
    region = (
        Region.objects.select_related("parent__parent").filter(path="/".join(common) + "/").first()
        if common
        else None
    )
    return _office_name(region) if region is not None else str(settings.SITE_NAME)


def certificate_issue(*, volunteer: VolunteerProfile, issued_by: User, now: datetime) -> Certificate:
    """A free certificate of the volunteer's approved hours so far, by the volunteer or an organiser of their
    region, issued in the name of the anti-drug office that organised the service (whoever presses the
    button). It holds a snapshot: later corrections, or a renamed region, never change it."""
    if issued_by.pk != volunteer.user_id and not can_manage_volunteer(user=issued_by, volunteer=volunteer):
        raise PermissionDenied
    with transaction.atomic():
        volunteer = _lock_profile(volunteer)
        counting = HourRecord.objects.counting().filter(volunteer=volunteer)
        summary = counting.aggregate(minutes=Sum("minutes"), first=Min("started_at"), last=Max("ended_at"))
        if not summary["minutes"]:
            raise VolunteerError(
                "no_approved_hours", _("There are no approved service hours to certify yet.")
            )
        titles = list(
            counting.values("activity__title")
            .annotate(first=Min("started_at"))
            .order_by("first")
            .values_list("activity__title", flat=True)
        )
        content = "；".join(titles[:CERTIFICATE_MAX_TITLES])
        if len(titles) > CERTIFICATE_MAX_TITLES:
            content = _("%(titles)s and %(count)s more activities") % {
                "titles": content,
                "count": len(titles) - CERTIFICATE_MAX_TITLES,
            }
        issued_on = _local_date(now)
        sequence = _next_in_sequence(f"certificate:{issued_on.year}")
        return Certificate.objects.create(
            number=f"QKC-{issued_on.year}-{sequence:06d}",
            volunteer=volunteer,
            holder_name=volunteer.real_name,
            volunteer_number=volunteer.volunteer_number,
            minutes=summary["minutes"],
            first_service_on=_local_date(summary["first"]),
            last_service_on=_local_date(summary["last"]),
            service_content=content,
            issuer_name=_issuing_office(counting),
            issued_on=issued_on,
            issued_by=issued_by,
            created_at=now,
        )


# --- reminders ---------------------------------------------------------------------------------------------


def _reminder_email(signup: Signup) -> mail.EmailMessage:
    shift = signup.shift
    activity = shift.activity
    with translation.override(signup.volunteer.language or settings.LANGUAGE_CODE):
        subject = _("Reminder: %(activity)s, %(start)s") % {
            "activity": activity.title,
            "start": _when(shift.starts_at),
        }
        body = _(
            "Hello %(name)s,\n\nyou are signed up for %(activity)s (%(role)s), %(start)s – %(end)s, at "
            "%(address)s. Please check in with the QR code at the place when you arrive.\n\nIf you cannot "
            "come, please cancel your sign-up so that someone on the waiting list gets your place."
        ) % {
            "name": signup.volunteer.public_name,
            "activity": activity.title,
            "role": shift.role or "-",
            "start": _when(shift.starts_at),
            "end": f"{_local(shift.ends_at):%H:%M}",
            "address": activity.address,
        }
    return mail.EmailMessage(subject=subject, body=body, to=[signup.volunteer.user.email])


def shift_reminders_send(*, now: datetime, within: timedelta = timedelta(hours=24)) -> int:
    """E-mail the confirmed volunteers of shifts starting within `within`, once per shift even when several
    processes run this at the same time. Returns how many e-mails were sent."""
    due = Shift.objects.filter(
        reminder_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + within,
        activity__is_published=True,
    ).values_list("pk", flat=True)
    sent = 0
    for shift_id in list(due):
        # Claiming the shift is the UPDATE itself: of two processes only one changes the row.
        if not Shift.objects.filter(pk=shift_id, reminder_sent_at__isnull=True).update(reminder_sent_at=now):
            continue
        signups = Signup.objects.filter(shift_id=shift_id, status=Signup.Status.CONFIRMED).select_related(
            "volunteer__user", "shift__activity"
        )
        messages = [_reminder_email(signup) for signup in signups if signup.volunteer.user.email]
        if messages:
            try:
                sent += mail.get_connection().send_messages(messages) or 0
            except OSError:
                logger.exception("shift reminders for shift %s could not be sent", shift_id)
    return sent

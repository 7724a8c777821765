"""The organisers' volunteer pages: activities and shifts, the roster with check-in, the rotating QR code, the
kiosk and the paper sign-in sheet, the hour-approval queue with its exports, backfill, totals and volunteers.

Every object is reached through a gate in selectors.py and every write goes through services.py, whose
VolunteerError messages are shown to the organiser as they are (already translated).
"""

import datetime as dt
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from campaigns.selectors import campaigns_editable
from edu.models import Region, User
from edu.selectors import ancestor_paths, regions_for_user
from volunteers import checkin_codes, exports, selectors, services
from volunteers.certificates import hours_text
from volunteers.forms_organiser import (
    ActivityFilterForm,
    ActivityForm,
    AddShiftFormSet,
    BackfillForm,
    CapacityForm,
    HourFilterForm,
    NewShiftFormSet,
    RejectForm,
    VolunteerSearchForm,
)
from volunteers.models import (
    Activity,
    HourRecord,
    RegionHourTotal,
    Shift,
    Signup,
    VolunteerProfile,
    hour_rules,
)
from volunteers.services import VolunteerError

ACTIVITIES_PER_PAGE = 20
RECORDS_PER_PAGE = 50
VOLUNTEERS_PER_PAGE = 50
BREAKDOWN_LIMIT = 20
LEADERBOARD_LIMIT = 20
EXPORT_MAX_ROWS = 50_000
# Under this age a volunteer needs a guardian's consent recorded by an adult (services.SELF_CONSENT_AGE);
# under ADULT_AGE a consent of some kind.
CONSENT_BY_ADULT_AGE = services.SELF_CONSENT_AGE
ADULT_AGE = services.ADULT_AGE


# --- helpers -----------------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _is_region_organiser(user: User) -> bool:
    return user.is_superuser or (user.is_organiser and user.region_id is not None)


def _require_manager(user: User) -> None:
    """The activity pages are for region organisers, site admins and whoever organises some activity."""
    if _is_region_organiser(user) or selectors.activities_organised(user=user).exists():
        return
    raise PermissionDenied


def _require_region_organiser(user: User) -> None:
    """Totals and the volunteer register are a region's: for its organisers and site admins only."""
    if not _is_region_organiser(user):
        raise PermissionDenied


def _count_of(queryset: QuerySet, group_by: str) -> Coalesce:
    """A correlated COUNT subquery: a count per row without joining (and multiplying) the outer rows."""
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def _activity_limit_hours() -> str:
    """The daily hours an activity's organiser may approve (8 by default), as the pages say it."""
    return f"{hour_rules().activity_max_daily_minutes / 60:g}"


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0)))


# --- activities --------------------------------------------------------------------------------------------


@login_required
def manage_index(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    return redirect("volunteer_manage_activities")


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    """The activities the user organises (a region organiser: every one in their region's subtree)."""
    user = request.user
    _require_manager(user)
    now = timezone.now()
    organised = selectors.activities_organised(user=user)
    form = ActivityFilterForm(
        request.GET or None,
        user=user,
        campaigns=Campaign.objects.filter(pk__in=organised.values("campaign_id")).order_by(
            "-starts_on", "title"
        ),
    )
    activities = organised.select_related("campaign", "region")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            activities = activities.filter(Q(title__icontains=data["q"]) | Q(address__icontains=data["q"]))
        if data["campaign"]:
            activities = activities.filter(campaign=data["campaign"])
        if data["region"]:
            activities = activities.filter(region_path__startswith=data["region"].path)
        if data["mine"]:
            activities = activities.filter(organisers=user)
        under_way_or_coming = Exists(Shift.objects.filter(activity=OuterRef("pk"), ends_at__gt=now))
        if data["when"] == "upcoming":
            activities = activities.filter(under_way_or_coming)
        elif data["when"] == "past":
            activities = activities.exclude(under_way_or_coming)
    confirmed = Signup.objects.filter(shift__activity=OuterRef("pk"), status=Signup.Status.CONFIRMED)
    waitlisted = Signup.objects.filter(shift__activity=OuterRef("pk"), status=Signup.Status.WAITLISTED)
    pending = HourRecord.objects.filter(activity=OuterRef("pk"), status=HourRecord.Status.PENDING)
    activities = activities.annotate(
        first_start=Min("shifts__starts_at"),
        last_end=Max("shifts__ends_at"),
        places=Sum("shifts__capacity"),
        confirmed=_count_of(confirmed, "shift__activity"),
        waitlisted=_count_of(waitlisted, "shift__activity"),
        pending_records=_count_of(pending, "activity"),
    ).order_by(F("first_start").desc(nulls_last=True), "-pk")
    page = Paginator(activities, ACTIVITIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/manage/activity_list.html",
        {
            "page": page,
            "form": form,
            "now": now,
            "can_create": campaigns_editable(user=user).exists(),
        },
    )


@login_required
def activity_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not campaigns_editable(user=user).exists():
        raise PermissionDenied
    initial = {}
    campaign_id = request.GET.get("campaign", "")
    if campaign_id.isdigit():
        initial["campaign"] = int(campaign_id)
    form = ActivityForm(request.POST or None, initial=initial, editor=user)
    shifts = NewShiftFormSet(request.POST or None, prefix="shifts")
    if request.method == "POST" and all([form.is_valid(), shifts.is_valid()]):
        try:
            activity = services.activity_create(
                campaign=form.cleaned_data["campaign"],
                created_by=user,
                shifts=shifts.shifts(),
                **form.activity_fields(),
            )
        except VolunteerError as error:
            form.add_error(None, error.message)
        except PermissionDenied:
            form.add_error("campaign", _("You cannot add activities to this campaign."))
        else:
            messages.success(request, _("Activity created. Volunteers can sign up once sign-up opens."))
            return redirect("volunteer_manage_activity", pk=activity.pk)
    return render(
        request,
        "volunteers/manage/activity_form.html",
        {"form": form, "shift_formset": shifts, "activity": None, "capacity_rows": []},
    )


def _shifts_with_counts(activity: Activity) -> list[Shift]:
    return list(
        Shift.objects.filter(activity=activity)
        .annotate(
            confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED)),
            waitlisted=Count("signups", filter=Q(signups__status=Signup.Status.WAITLISTED)),
        )
        .order_by("starts_at", "pk")
    )


@dataclass
class CapacityRow:
    shift: Shift
    form: CapacityForm


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    activity = selectors.activity_for_organiser(user=user, pk=pk)
    data = request.POST if request.method == "POST" else None
    form = ActivityForm(data, instance=activity, editor=user)
    rows = [
        CapacityRow(
            shift=shift,
            form=CapacityForm(data, prefix=f"shift-{shift.pk}", initial={"capacity": shift.capacity}),
        )
        for shift in _shifts_with_counts(activity)
    ]
    new_shifts = AddShiftFormSet(data, prefix="new")
    if data is not None and all(
        [form.is_valid(), new_shifts.is_valid(), *[row.form.is_valid() for row in rows]]
    ):
        failed_row = None
        try:
            with transaction.atomic():
                services.activity_update(activity=activity, by=user, **form.activity_fields())
                promoted = 0
                for row in rows:
                    capacity = row.form.cleaned_data["capacity"]
                    if capacity != row.shift.capacity:
                        failed_row = row
                        promoted += services.shift_capacity_change(
                            shift=row.shift, capacity=capacity, by=user
                        )
                failed_row = None
                for spec in new_shifts.shifts():
                    services.shift_add(activity=activity, by=user, **spec)
        except VolunteerError as error:
            if failed_row is not None:
                failed_row.form.add_error("capacity", error.message)
            else:
                form.add_error(None, error.message)
        else:
            messages.success(request, _("Activity saved."))
            if promoted:
                messages.info(
                    request,
                    ngettext(
                        "%(count)s volunteer moved up from the waiting list.",
                        "%(count)s volunteers moved up from the waiting list.",
                        promoted,
                    )
                    % {"count": promoted},
                )
            return redirect("volunteer_manage_activity", pk=activity.pk)
    return render(
        request,
        "volunteers/manage/activity_form.html",
        {"form": form, "shift_formset": new_shifts, "activity": activity, "capacity_rows": rows},
    )


# --- the roster and check-in -------------------------------------------------------------------------------


@dataclass
class ShiftRoster:
    shift: Shift
    confirmed: list[Signup]
    waitlisted: list[Signup]

    @property
    def checked_in(self) -> int:
        return sum(1 for signup in self.confirmed if signup.checked_in_at is not None)


def _rosters(activity: Activity, *, with_records: bool) -> list[ShiftRoster]:
    shifts = list(Shift.objects.filter(activity=activity).order_by("starts_at", "pk"))
    signups = (
        Signup.objects.filter(shift__activity=activity)
        .exclude(status=Signup.Status.CANCELLED)
        .select_related("volunteer__user")
        .order_by("created_at", "pk")
    )
    if with_records:
        signups = signups.prefetch_related(
            Prefetch(
                "hour_records",
                queryset=HourRecord.objects.filter(source=HourRecord.Source.CHECKIN),
                to_attr="checkin_records",
            )
        )
    by_shift: dict[int, ShiftRoster] = {
        shift.pk: ShiftRoster(shift=shift, confirmed=[], waitlisted=[]) for shift in shifts
    }
    today = timezone.localdate()
    for signup in signups:
        signup.age = signup.volunteer.age_on(today)
        signup.record = (signup.checkin_records or [None])[0] if with_records else None
        signup.record_hours = hours_text(signup.record.minutes) if signup.record else ""
        signup.masked_name = selectors.masked_name(signup.volunteer.real_name)
        roster = by_shift[signup.shift_id]
        (roster.confirmed if signup.status == Signup.Status.CONFIRMED else roster.waitlisted).append(signup)
    return list(by_shift.values())


@login_required
def activity_roster(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    activity = selectors.activity_for_organiser(user=user, pk=pk)
    now = timezone.now()
    # No scheduler needed to see a finished shift right: its missed check-outs are closed (and flagged) now.
    services.missed_checkouts_close(now=now, activities=[activity])
    rosters = _rosters(activity, with_records=True)
    return render(
        request,
        "volunteers/manage/roster.html",
        {
            "activity": activity,
            "rosters": rosters,
            "now": now,
            "opens_before": services.CHECKIN_OPENS_BEFORE,
            # Phone numbers are for the people running the activity on the day, not for everyone above them.
            "show_phone": activity.organisers.filter(pk=user.pk).exists(),
            "organisers": list(activity.organisers.order_by("pk")),
        },
    )


def _event_time(request: HttpRequest, shift: Shift, now: dt.datetime) -> dt.datetime:
    """The time of a check-in or check-out: now, or the time written on the paper sign-in sheet."""
    raw = (request.POST.get("at") or "").strip()
    if not raw:
        return now
    try:
        clock = dt.time.fromisoformat(raw)
    except ValueError:
        raise VolunteerError(
            "bad_time", _("Enter the time as hours and minutes, for example 09:05.")
        ) from None
    start, end = timezone.localtime(shift.starts_at), timezone.localtime(shift.ends_at)
    when = timezone.make_aware(dt.datetime.combine(start.date(), clock.replace(second=0, microsecond=0)))
    if when < shift.starts_at - services.CHECKIN_OPENS_BEFORE and end.date() != start.date():
        # A shift past midnight: an early-morning time on the sheet is on the shift's last day.
        when = timezone.make_aware(dt.datetime.combine(end.date(), clock.replace(second=0, microsecond=0)))
    if when > now:
        raise VolunteerError(
            "time_in_future", _("That time has not come yet: leave the time empty to use the current time.")
        )
    return when


def _roster_url(signup: Signup) -> str:
    return reverse("volunteer_manage_activity", args=[signup.shift.activity_id]) + f"#shift-{signup.shift_id}"


@login_required
@require_POST
def signup_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    signup = selectors.signup_for_organiser(user=request.user, pk=pk)
    try:
        when = _event_time(request, signup.shift, timezone.now())
        signup = services.checkin_by_organiser(signup=signup, by=request.user, now=when)
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s checked in at %(time)s.")
            % {
                "name": signup.volunteer.public_name,
                "time": f"{timezone.localtime(signup.checked_in_at):%H:%M}",
            },
        )
    return redirect(_roster_url(signup))


@login_required
@require_POST
def signup_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    signup = selectors.signup_for_organiser(user=request.user, pk=pk)
    try:
        when = _event_time(request, signup.shift, timezone.now())
        if signup.checked_in_at is not None and when < signup.checked_in_at:
            raise VolunteerError("before_checkin", _("The check-out time is before the check-in time."))
        record = services.checkout(signup=signup, by=request.user, now=when)
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s checked out: %(hours)s hours recorded, waiting for approval.")
            % {"name": signup.volunteer.public_name, "hours": hours_text(record.minutes)},
        )
    return redirect(_roster_url(signup))


# --- the rotating QR code, the kiosk and the sign-in sheet -----------------------------------------------


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def _qr_payload(request: HttpRequest, activity: Activity) -> dict:
    """The current check-in code: the token, the URL it opens, its QR code and the minutes it is accepted."""
    minute = checkin_codes.minute_of(timezone.now())
    token = checkin_codes.token_for(activity.checkin_secret, activity.pk, minute)
    url = request.build_absolute_uri(
        reverse("volunteer_checkin", kwargs={"activity_pk": activity.pk, "token": token})
    )
    valid_from = dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)
    valid_until = valid_from + dt.timedelta(minutes=checkin_codes.ACCEPTED_MINUTES)
    return {
        "token": token,
        "url": url,
        "svg": _qr_svg(url),
        "minute": minute,
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
        "valid_label": _("This code works from %(start)s until %(end)s.")
        % {
            "start": f"{timezone.localtime(valid_from):%H:%M}",
            "end": f"{timezone.localtime(valid_until):%H:%M}",
        },
    }


def _qr_context(request: HttpRequest, activity: Activity) -> dict:
    payload = _qr_payload(request, activity)
    now = timezone.now()
    return {
        "activity": activity,
        "qr": payload,
        # Generated here from our own URL by the qrcode library, so it is safe to inline.
        "qr_svg": mark_safe(payload["svg"]),  # noqa: S308
        "json_url": reverse("volunteer_manage_qr_json", args=[activity.pk]),
        "shift_now": Shift.objects.filter(
            activity=activity, starts_at__lte=now + services.CHECKIN_OPENS_BEFORE, ends_at__gt=now
        )
        .order_by("starts_at")
        .first(),
    }


@login_required
@never_cache
def activity_qr(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_organiser(user=request.user, pk=pk)
    return render(request, "volunteers/manage/qr.html", _qr_context(request, activity))


@login_required
@never_cache
def activity_qr_json(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_organiser(user=request.user, pk=pk)
    return JsonResponse(_qr_payload(request, activity))


@login_required
@never_cache
def activity_kiosk(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_organiser(user=request.user, pk=pk)
    return render(request, "volunteers/manage/kiosk.html", _qr_context(request, activity))


@login_required
def activity_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """One A4 sheet per shift: a chosen shift (?shift=), every shift (?all=1), else those not over yet."""
    activity = selectors.activity_for_organiser(user=request.user, pk=pk)
    now = timezone.now()
    rosters = _rosters(activity, with_records=False)
    chosen = request.GET.get("shift", "")
    show_all = request.GET.get("all") == "1"
    if chosen.isdigit():
        rosters = [roster for roster in rosters if roster.shift.pk == int(chosen)]
        if not rosters:
            raise Http404("No such shift.")
    elif not show_all:
        rosters = [roster for roster in rosters if roster.shift.ends_at > now] or rosters
    return render(
        request,
        "volunteers/manage/sheet.html",
        {
            "activity": activity,
            "rosters": rosters,
            "blank_rows": range(3),
            "printed_at": now,
            "show_all": show_all or bool(chosen),
        },
    )


# --- hour records: the queue, decisions, exports, backfill -------------------------------------------------


def _records_visible(user: User) -> QuerySet[HourRecord]:
    """The records the queue lists: every one the user may decide on, and the other records of activities
    they organise — a day above the activity organiser's limit is shown to them, marked for the campaign's
    organiser, but only hour_records_for_approver lets anyone decide it."""
    decidable = selectors.hour_records_for_approver(user=user).values("pk")
    organised = selectors.activities_organised(user=user).values("pk")
    superseded = Exists(HourRecord.objects.filter(corrects=OuterRef("pk"), status=HourRecord.Status.APPROVED))
    return HourRecord.objects.filter(Q(pk__in=decidable) | Q(activity__in=organised)).annotate(
        superseded=superseded
    )


def _hour_filter_form(request: HttpRequest) -> HourFilterForm:
    user = request.user
    organised = selectors.activities_organised(user=user)
    data = request.GET.copy()
    if "status" not in data:
        # The queue opens on what is waiting for a decision.
        data["status"] = HourRecord.Status.PENDING
    form = HourFilterForm(
        data,
        campaigns=Campaign.objects.filter(pk__in=organised.values("campaign_id")).order_by(
            "-starts_on", "title"
        ),
        activities=organised.order_by("-signup_opens_at", "title"),
    )
    form.is_valid()
    return form


def _filtered_records(user: User, form: HourFilterForm) -> QuerySet[HourRecord]:
    records = _records_visible(user)
    data = form.cleaned_data if form.is_valid() else {"status": HourRecord.Status.PENDING}
    if data.get("status"):
        records = records.filter(status=data["status"])
    if data.get("campaign"):
        records = records.filter(activity__campaign=data["campaign"])
    if data.get("activity"):
        records = records.filter(activity=data["activity"])
    if data.get("flagged"):
        records = records.filter(flagged=True)
    if data.get("date_from"):
        records = records.filter(started_at__gte=_local_day_start(data["date_from"]))
    if data.get("date_to"):
        records = records.filter(started_at__lt=_local_day_start(data["date_to"] + dt.timedelta(days=1)))
    if data.get("number"):
        records = records.filter(volunteer__volunteer_number__icontains=data["number"])
    if data.get("status") == HourRecord.Status.PENDING:
        return records.order_by("started_at", "pk")
    return records.order_by("-started_at", "-pk")


def _decidable_ids(user: User, records: list[HourRecord]) -> set[int]:
    pending = [record.pk for record in records if record.status == HourRecord.Status.PENDING]
    if not pending:
        return set()
    return set(
        selectors.hour_records_for_approver(user=user).filter(pk__in=pending).values_list("pk", flat=True)
    )


def _annotate_for_queue(user: User, records: list[HourRecord]) -> None:
    decidable = _decidable_ids(user, records)
    for record in records:
        record.hours = hours_text(record.minutes)
        record.status_label = exports.status_label(record)
        record.own = record.volunteer.user_id == user.pk
        record.can_decide = record.pk in decidable and not record.own
        record.needs_campaign = (
            record.status == HourRecord.Status.PENDING
            and record.approver_level == HourRecord.ApproverLevel.CAMPAIGN
            and record.pk not in decidable
        )
        if record.corrects_id:
            record.corrects.hours = hours_text(record.corrects.minutes)


@login_required
def hour_queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    # Missed check-outs of the user's activities become flagged records before the queue is read.
    services.missed_checkouts_close(now=timezone.now(), activities=selectors.activities_organised(user=user))
    form = _hour_filter_form(request)
    records = _filtered_records(user, form).select_related(
        "activity__campaign", "volunteer__user", "corrects", "recorded_by", "decided_by"
    )
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    _annotate_for_queue(user, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "volunteers/manage/hours.html",
        {
            "form": form,
            "page": page,
            "any_decidable": any(record.can_decide for record in page.object_list),
            "export_query": query.urlencode(),
            "activity_limit_hours": _activity_limit_hours(),
        },
    )


@login_required
@require_POST
def hour_approve(request: HttpRequest) -> HttpResponse:
    """Approve the ticked records (or the one whose button was pressed); the service checks each again."""
    user = request.user
    _require_manager(user)
    back = _safe_next(request, reverse("volunteer_manage_hours"))
    raw = [request.POST["only"]] if request.POST.get("only") else request.POST.getlist("records")
    # ASCII digits only, within a database id's range: anything else is no record.
    ids = sorted({int(value) for value in raw if value.isascii() and value.isdigit() and len(value) <= 18})
    if not ids:
        messages.error(request, _("Tick the records to approve first."))
        return redirect(back)
    now = timezone.now()
    visible = _records_visible(user).filter(pk__in=ids, status=HourRecord.Status.PENDING)
    decidable = list(
        selectors.hour_records_for_approver(user=user)
        .filter(pk__in=ids, status=HourRecord.Status.PENDING)
        .select_related("activity__campaign__region", "volunteer__user")
    )
    escalated = visible.exclude(pk__in=[record.pk for record in decidable]).filter(
        approver_level=HourRecord.ApproverLevel.CAMPAIGN
    )
    escalated_count = escalated.count()
    if len(decidable) == 1 and len(ids) == 1:
        # One record: the service's own words say why it cannot be approved, if it cannot.
        try:
            services.hour_record_approve(record=decidable[0], approver=user, now=now)
        except VolunteerError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Record approved."))
        return redirect(back)
    approved = services.hour_records_approve(records=decidable, approver=user, now=now) if decidable else 0
    if approved:
        messages.success(
            request,
            ngettext("%(count)s record approved.", "%(count)s records approved.", approved)
            % {"count": approved},
        )
    if escalated_count:
        messages.warning(
            request,
            ngettext(
                "%(count)s record is more than the activity organiser may approve for one day: it stays "
                "pending for the campaign's organiser.",
                "%(count)s records are more than the activity organiser may approve for one day: they "
                "stay pending for the campaign's organiser.",
                escalated_count,
            )
            % {"count": escalated_count},
        )
    refused = len(decidable) - approved
    if refused:
        messages.error(
            request,
            ngettext(
                "%(count)s record could not be approved: open it to see which rule it breaks.",
                "%(count)s records could not be approved: open them to see which rule they break.",
                refused,
            )
            % {"count": refused},
        )
    if not (approved or escalated_count or refused):
        messages.error(request, _("None of the ticked records is waiting for your decision."))
    return redirect(back)


def _record_page(request: HttpRequest, record: HourRecord, reject_form: RejectForm, status: int = 200):
    record.hours = hours_text(record.minutes)
    record.status_label = exports.status_label(record)
    if record.corrects_id:
        record.corrects.hours = hours_text(record.corrects.minutes)
    user = request.user
    return render(
        request,
        "volunteers/manage/record.html",
        {
            "record": record,
            "reject_form": reject_form,
            "can_decide": record.status == HourRecord.Status.PENDING and record.volunteer.user_id != user.pk,
            "corrections": list(
                record.corrections.select_related("recorded_by", "decided_by").order_by("created_at", "pk")
            ),
            "next": _safe_next(request, reverse("volunteer_manage_hours")),
        },
        status=status,
    )


@login_required
def hour_record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = selectors.hour_record_for_approver(user=request.user, pk=pk)
    return _record_page(request, record, RejectForm())


@login_required
@require_POST
def hour_reject(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    record = selectors.hour_record_for_approver(user=user, pk=pk)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.hour_record_reject(
                record=record, approver=user, reason=form.cleaned_data["reason"], now=timezone.now()
            )
        except VolunteerError as error:
            form.add_error("reason" if error.code == "reason_required" else None, error.message)
        else:
            messages.success(request, _("Record rejected. The volunteer sees your reason."))
            return redirect(_safe_next(request, reverse("volunteer_manage_hours")))
    return _record_page(request, record, form, status=400)


@login_required
def hour_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    file_format = request.GET.get("format", "xlsx")
    if file_format not in ("xlsx", "csv"):
        file_format = "xlsx"
    form = _hour_filter_form(request)
    records = (
        _filtered_records(user, form)
        .select_related("activity", "volunteer__user", "recorded_by", "decided_by")
        .prefetch_related(Prefetch("activity__organisers", queryset=User.objects.order_by("pk")))[
            :EXPORT_MAX_ROWS
        ]
    )
    header, rows = exports.measures_table(records, decisions=True)
    return exports.spreadsheet_response(
        header, rows, stem=f"volunteer-hours-{timezone.localdate():%Y%m%d}", file_format=file_format
    )


def _volunteer_for_backfill(user: User, number: str, activity: Activity) -> VolunteerProfile | None:
    """A volunteer of the organiser's region, or one who signed up for this activity, by their number."""
    candidates = VolunteerProfile.objects.filter(
        Q(pk__in=selectors.volunteers_for_organiser(user=user).values("pk"))
        | Q(pk__in=Signup.objects.filter(shift__activity=activity).values("volunteer_id"))
    )
    return candidates.select_related("user").filter(volunteer_number__iexact=number).first()


@login_required
def hour_backfill(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    activities = (
        selectors.activities_organised(user=user)
        .select_related("campaign")
        .order_by("-signup_opens_at", "title")
    )
    initial = {}
    activity_id = request.GET.get("activity", "")
    if activity_id.isdigit():
        initial["activity"] = int(activity_id)
    form = BackfillForm(request.POST or None, initial=initial, activities=activities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        volunteer = _volunteer_for_backfill(user, data["volunteer_number"], data["activity"])
        if volunteer is None:
            form.add_error(
                "volunteer_number",
                _(
                    "No volunteer with the number %(number)s is registered in your region or signed up for "
                    "this activity."
                )
                % {"number": data["volunteer_number"]},
            )
        else:
            try:
                record = services.hour_backfill(
                    volunteer=volunteer,
                    activity=data["activity"],
                    started_at=data["started_at"],
                    ended_at=data["ended_at"],
                    content=data["content"],
                    recorded_by=user,
                    now=timezone.now(),
                )
            except VolunteerError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "%(hours)s hours recorded for %(number)s. The record is flagged as recorded "
                        "afterwards and waits for approval."
                    )
                    % {"hours": hours_text(record.minutes), "number": volunteer.volunteer_number},
                )
                return redirect("volunteer_manage_record", pk=record.pk)
    return render(request, "volunteers/manage/backfill.html", {"form": form})


# --- totals ------------------------------------------------------------------------------------------------


@dataclass
class BreakdownRow:
    label: str
    minutes: int
    volunteers: int
    url: str = ""

    @property
    def hours(self) -> str:
        return hours_text(self.minutes)


def _top(scope: str, region: Region) -> list[BreakdownRow]:
    """The BREAKDOWN_LIMIT schools, teams, activities or campaigns under the region with the most approved
    hours, from their rollups (one bounded query, whatever the region's size)."""
    return [
        BreakdownRow(label=row.name, minutes=row.minutes, volunteers=row.volunteers)
        for row in selectors.top_totals(scope=scope, region=region, limit=BREAKDOWN_LIMIT)
    ]


def _by_subregion(region: Region) -> list[BreakdownRow]:
    """Each child region's totals (its whole subtree), from the RegionHourTotal rows under it in one query."""
    children = {child.path: child for child in Region.objects.filter(parent=region)}
    if not children:
        return []  # a county: nothing to break down
    minutes: dict[str, int] = {path: 0 for path in children}
    people: dict[str, int] = {path: 0 for path in children}
    own_minutes, own_people = 0, 0

    def child_of(path: str) -> str | None:
        rest = path[len(region.path) :]
        return f"{region.path}{rest.split('/', 1)[0]}/" if rest else None

    rollups = RegionHourTotal.objects.filter(region_path__startswith=region.path).values_list(
        "region_path", "minutes", "volunteers"
    )
    for path, total, active in rollups:
        child = child_of(path)
        if child in minutes:
            minutes[child] += total
            people[child] += active
        else:
            own_minutes += total
            own_people += active
    rows = [
        BreakdownRow(
            label=child.display_name,
            minutes=minutes[path],
            volunteers=people[path],
            url=f"?region={child.pk}",
        )
        for path, child in sorted(children.items())
    ]
    if own_minutes or own_people:
        rows.append(
            BreakdownRow(
                label=_("%(region)s itself") % {"region": region.display_name},
                minutes=own_minutes,
                volunteers=own_people,
            )
        )
    return sorted(rows, key=lambda row: -row.minutes)


def _totals_region(request: HttpRequest) -> Region | None:
    user = request.user
    regions = regions_for_user(user=user)
    chosen = request.GET.get("region", "")
    if chosen.isdigit():
        region = regions.filter(pk=int(chosen)).first()
        if region is None:
            raise Http404("No such region.")
        return region
    if user.region_id and (user.is_organiser or user.is_superuser):
        return user.region
    return regions.filter(parent__isnull=True).first()


@login_required
def totals(request: HttpRequest) -> HttpResponse:
    """Approved hours in the organiser's region (or a region under it): sums, breakdowns and a leaderboard.

    Every figure comes from the rollups the approving transactions keep (RegionHourTotal and the school,
    team, activity and campaign rows; the leaderboard from VolunteerProfile.approved_minutes), so a
    province's page costs as little as a county's: no query here reads the hour records in bulk."""
    _require_region_organiser(request.user)
    region = _totals_region(request)
    context: dict = {"region": region, "top_limit": BREAKDOWN_LIMIT}
    if region is not None:
        region_totals = selectors.totals_for_region(region=region)
        context.update(
            {
                "totals": region_totals,
                "hours": hours_text(region_totals.minutes),
                "registered": VolunteerProfile.objects.filter(region_path__startswith=region.path).count(),
                "pending": HourRecord.objects.filter(
                    activity__region_path__startswith=region.path, status=HourRecord.Status.PENDING
                ).count(),
                "by_subregion": _by_subregion(region),
                "by_school": _top("school", region),
                "by_team": _top("team", region),
                "by_activity": _top("activity", region),
                "by_campaign": _top("campaign", region),
                "leaderboard": selectors.leaderboard(scope=region, limit=LEADERBOARD_LIMIT),
                "breadcrumbs": _region_breadcrumbs(request.user, region),
            }
        )
    return render(request, "volunteers/manage/totals.html", context)


def _region_breadcrumbs(user: User, region: Region) -> list[Region]:
    """The regions from the user's own down to the one shown, for drilling back up."""
    top = "" if user.is_superuser and not user.region_id else user.region.path
    paths = [path for path in ancestor_paths(region.path) if path.startswith(top) and path != region.path]
    by_path = {r.path: r for r in Region.objects.filter(path__in=paths)}
    return [by_path[path] for path in paths if path in by_path]


# --- volunteers of the region ------------------------------------------------------------------------------


def _fourteen_years_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - CONSENT_BY_ADULT_AGE)
    except ValueError:  # 29 February
        return day.replace(year=day.year - CONSENT_BY_ADULT_AGE, day=28)


@login_required
def volunteer_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_region_organiser(user)
    today = timezone.localdate()
    form = VolunteerSearchForm(request.GET or None)
    volunteers = selectors.volunteers_for_organiser(user=user).select_related(
        "school", "guardian_consent_recorded_by"
    )
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            volunteers = volunteers.filter(
                Q(real_name__icontains=query)
                | Q(volunteer_number__icontains=query)
                | Q(user__nickname__icontains=query)
            )
        if form.cleaned_data["consent"]:
            volunteers = volunteers.filter(
                birth_date__gt=_fourteen_years_before(today), guardian_consent_at__isnull=True
            )
    page = Paginator(volunteers.order_by("volunteer_number"), VOLUNTEERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for volunteer in page.object_list:
        volunteer.age = volunteer.age_on(today)
        volunteer.hours = hours_text(volunteer.approved_minutes)
        missing = volunteer.guardian_consent_at is None
        volunteer.needs_adult_consent = missing and volunteer.age < CONSENT_BY_ADULT_AGE
        volunteer.minor_without_consent = missing and volunteer.age < ADULT_AGE
    return render(
        request,
        "volunteers/manage/volunteers.html",
        {"form": form, "page": page, "adult_age": ADULT_AGE, "consent_age": CONSENT_BY_ADULT_AGE},
    )


@login_required
@require_POST
def guardian_consent(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_region_organiser(user)
    volunteer = selectors.volunteers_for_organiser(user=user).filter(pk=pk).first()
    if volunteer is None:
        raise Http404("No such volunteer.")
    try:
        services.guardian_consent_record(volunteer=volunteer, recorded_by=user, now=timezone.now())
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Guardian's consent recorded for %(number)s (%(name)s).")
            % {"number": volunteer.volunteer_number, "name": volunteer.public_name},
        )
    return redirect(_safe_next(request, reverse("volunteer_manage_volunteers")))

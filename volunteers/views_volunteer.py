"""The volunteers' own pages: registration, activities and sign-up, check-in, hours, certificates, teams.

Every object is reached through a gate in selectors.py (404 for what the user may not see); every write goes
through services.py, whose VolunteerError messages are shown to the person as they are (already translated).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from edu.models import Region, User
from volunteers import checkin_codes, exports, selectors, services
from volunteers.certificates import certificate_pdf, hours_text
from volunteers.forms_volunteer import (
    GUARDIAN_CONSENT_AGE,
    ActivityFilterForm,
    CorrectionRequestForm,
    ProfileForm,
    RegistrationForm,
    TeamCreateForm,
    TeamMemberAddForm,
)
from volunteers.models import (
    Activity,
    Certificate,
    HourRecord,
    Shift,
    Signup,
    Skill,
    Team,
    TeamMembership,
    VolunteerProfile,
)
from volunteers.services import VolunteerError

LIVE_STATUSES = (Signup.Status.CONFIRMED, Signup.Status.WAITLISTED)
ACTIVITIES_PER_PAGE = 12
HISTORY_LIMIT = 50


# --- helpers -----------------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _require_profile(request: HttpRequest, *, back: str = "") -> VolunteerProfile | HttpResponse:
    """The user's volunteer profile, or a redirect to registration that comes back afterwards: to this page,
    or for a form's POST to `back`."""
    profile = selectors.volunteer_profile_for_user(user=request.user)
    if profile is not None:
        return profile
    messages.info(request, _("Register as a volunteer first: it takes a minute."))
    if request.method == "GET":
        back = request.get_full_path()
    url = reverse("volunteer_register")
    return redirect(f"{url}?{urlencode({'next': back})}" if back else url)


def _list_text(items) -> str:
    """A list in running text: 急救、摄影 in Chinese, "first aid, photography" in English."""
    separator = ", " if (get_language() or "").startswith("en") else "、"
    return separator.join(str(item) for item in items)


# --- registration and profile ------------------------------------------------------------------------------


def volunteer_register(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Most people who want to volunteer have no account yet: the sign-up page (which links to sign-in for
        # those who do) brings them back here, with where they were going.
        messages.info(
            request,
            _("First create your account (or sign in if you have one); then you register as a volunteer."),
        )
        return redirect(f"{reverse('account_signup')}?{urlencode({'next': request.get_full_path()})}")
    if selectors.volunteer_profile_for_user(user=request.user) is not None:
        return redirect(_safe_next(request, reverse("volunteer_profile_edit")))
    now = timezone.now()
    form = RegistrationForm(request.POST or None, today=timezone.localdate(now))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = services.volunteer_register(
                user=request.user,
                real_name=data["real_name"],
                phone=data["phone"],
                birth_date=data["birth_date"],
                region=data["region"],
                school=data["school"],
                skills=data["skills"],
                emergency_contact_name=data["emergency_contact_name"],
                emergency_contact_phone=data["emergency_contact_phone"],
                guardian_name=data["guardian_name"],
                guardian_phone=data["guardian_phone"],
                guardian_agrees=data["guardian_agrees"],
                now=now,
            )
        except VolunteerError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Welcome! Your volunteer number is %(number)s.") % {"number": profile.volunteer_number},
            )
            if (
                profile.guardian_consent_at is None
                and form.age is not None
                and form.age < GUARDIAN_CONSENT_AGE
            ):
                messages.warning(
                    request,
                    _(
                        "Before you can sign up for a shift, a team leader, your school or an organiser must "
                        "record your guardian's consent. Show them the consent your guardian signed."
                    ),
                )
            return redirect(_safe_next(request, reverse("volunteer_me")))
    return render(
        request,
        "volunteers/volunteer/register.html",
        {"form": form, "next": _safe_next(request, ""), "today": timezone.localdate(now)},
    )


@login_required
def volunteer_profile_edit(request: HttpRequest) -> HttpResponse:
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    initial = {
        "real_name": profile.real_name,
        "phone": profile.phone,
        "region": profile.region_id,
        "school": profile.school_id,
        "skills": profile.skills,
        "emergency_contact_name": profile.emergency_contact_name,
        "emergency_contact_phone": profile.emergency_contact_phone,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.volunteer_profile_update(
                volunteer=profile,
                by=request.user,
                real_name=data["real_name"],
                phone=data["phone"],
                region=data["region"],
                school=data["school"],
                skills=data["skills"],
                emergency_contact_name=data["emergency_contact_name"],
                emergency_contact_phone=data["emergency_contact_phone"],
                now=timezone.now(),
            )
        except VolunteerError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("volunteer_me")
    return render(request, "volunteers/volunteer/profile_form.html", {"form": form, "profile": profile})


# --- activities --------------------------------------------------------------------------------------------


def _filter_choices(visible) -> tuple[list, list]:
    campaigns = visible.order_by("campaign__title").values_list("campaign_id", "campaign__title").distinct()
    region_ids = visible.values("region_id")
    regions = Region.objects.filter(pk__in=region_ids).order_by("path")
    return list(campaigns), [(region.pk, region.display_name) for region in regions]


def activity_list(request: HttpRequest) -> HttpResponse:
    """Published activities the user may join, upcoming first; guests see the ones open to anyone."""
    now = timezone.now()
    visible = selectors.activities_visible(user=request.user)
    campaigns, regions = _filter_choices(visible)
    form = ActivityFilterForm(request.GET or None, campaigns=campaigns, regions=regions)
    chosen = form.filters()
    activities = visible.annotate(
        first_start=Min("shifts__starts_at"),
        last_end=Max("shifts__ends_at"),
        shift_count=Count("shifts", distinct=True),
    )
    if chosen["campaign"]:
        activities = activities.filter(campaign_id=chosen["campaign"])
    if chosen["region"]:
        region = Region.objects.filter(pk=chosen["region"]).first()
        if region is not None:
            activities = activities.filter(region_path__startswith=region.path)
    if chosen["when"] == "upcoming":
        activities = activities.filter(last_end__gt=now).order_by("first_start", "pk")
    elif chosen["when"] == "past":
        activities = activities.filter(last_end__lte=now).order_by("-last_end", "-pk")
    else:
        activities = activities.order_by("-first_start", "-pk")
    page = Paginator(activities, ACTIVITIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "volunteers/volunteer/activity_list.html",
        {"page": page, "form": form, "when": chosen["when"], "chosen": chosen, "now": now},
    )


def _map_links(activity: Activity) -> dict | None:
    if activity.latitude is None or activity.longitude is None:
        return None
    lat, lng = activity.latitude, activity.longitude
    return {
        # Amap's URI API opens its app or web map at a point; no script of theirs is loaded on our page.
        "amap": "https://uri.amap.com/marker?"
        + urlencode({"position": f"{lng},{lat}", "name": activity.title, "callnative": "1"}),
        "geo": f"geo:{lat},{lng}?q={lat},{lng}",
        "lat": lat,
        "lng": lng,
    }


def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = selectors.activity_for_user(user=request.user, pk=pk)
    now = timezone.now()
    shifts = list(
        Shift.objects.filter(activity=activity)
        .annotate(
            confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED)),
            waitlisted=Count("signups", filter=Q(signups__status=Signup.Status.WAITLISTED)),
        )
        .order_by("starts_at", "pk")
    )
    profile = selectors.volunteer_profile_for_user(user=request.user)
    mine: dict[int, Signup] = {}
    if profile is not None:
        mine = {
            signup.shift_id: signup
            for signup in Signup.objects.filter(
                volunteer=profile, shift__activity=activity, status__in=LIVE_STATUSES
            )
        }
    for shift in shifts:
        shift.seats_left = max(shift.capacity - shift.confirmed, 0)
        shift.my_signup = mine.get(shift.pk)
        shift.is_past = shift.starts_at <= now
    signup_open = activity.signup_opens_at <= now < activity.signup_closes_at
    consent_missing = False
    if profile is not None and profile.guardian_consent_at is None:
        consent_missing = profile.age_on(timezone.localdate(now)) < 18
    skills = dict(Skill.choices)
    return render(
        request,
        "volunteers/volunteer/activity_detail.html",
        {
            "activity": activity,
            "shifts": [shift for shift in shifts if shift.ends_at > now],
            "earlier_shifts": [shift for shift in shifts if shift.ends_at <= now],
            "profile": profile,
            "signup_open": signup_open,
            "signup_not_yet": now < activity.signup_opens_at,
            "consent_missing": consent_missing,
            "map": _map_links(activity),
            "skills_required": _list_text(skills.get(code, code) for code in activity.skills_required),
            "now": now,
        },
    )


@login_required
@require_POST
def shift_signup(request: HttpRequest, pk: int) -> HttpResponse:
    shift = get_object_or_404(
        Shift.objects.select_related("activity"),
        pk=pk,
        activity__in=selectors.activities_visible(user=request.user),
    )
    profile = _require_profile(request, back=reverse("volunteer_activity_detail", args=[shift.activity_id]))
    if isinstance(profile, HttpResponse):
        return profile
    try:
        signup = services.shift_signup(shift=shift, volunteer=profile, now=timezone.now())
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        when = timezone.localtime(shift.starts_at)
        if signup.status == Signup.Status.CONFIRMED:
            messages.success(
                request,
                _("You are signed up: %(role)s, %(when)s. Thank you!")
                % {"role": shift.role or shift.activity.title, "when": f"{when:%Y-%m-%d %H:%M}"},
            )
        else:
            position = Signup.objects.filter(
                shift=shift, status=Signup.Status.WAITLISTED, created_at__lte=signup.created_at
            ).count()
            messages.warning(
                request,
                _(
                    "This shift is full, so you are on the waiting list (number %(position)s). If a place "
                    "frees up you get it automatically and we let you know."
                )
                % {"position": position},
            )
    return redirect("volunteer_activity_detail", pk=shift.activity_id)


@login_required
@require_POST
def signup_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    signup = selectors.signup_for_owner(user=request.user, pk=pk)
    try:
        services.signup_cancel(signup=signup, by=request.user, now=timezone.now())
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your sign-up is cancelled."))
    return redirect(_safe_next(request, reverse("volunteer_me")))


# --- check-in and check-out --------------------------------------------------------------------------------


@login_required
def checkin(request: HttpRequest, activity_pk: int, token: str) -> HttpResponse:
    """The page the activity's QR code opens: the volunteer's shift there and one big button."""
    activity = selectors.activity_for_user(user=request.user, pk=activity_pk)
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    now = timezone.now()
    if request.method == "POST":
        try:
            signup = services.checkin_by_code(activity=activity, volunteer=profile, token=token, now=now)
        except VolunteerError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Checked in at %(time)s. Thank you for serving!")
                % {"time": f"{timezone.localtime(signup.checked_in_at):%H:%M}"},
            )
        return redirect("volunteer_checkin", activity_pk=activity.pk, token=token)

    # Yesterday's forgotten check-out is closed at its shift's end, not offered as a check-out now.
    services.missed_checkouts_close(now=now, volunteer=profile)
    signups = list(
        Signup.objects.filter(volunteer=profile, shift__activity=activity)
        .exclude(status=Signup.Status.CANCELLED)
        .select_related("shift")
        .order_by("shift__starts_at")
    )
    opens_before = services.CHECKIN_OPENS_BEFORE
    # The shift this scan is about: one checked in and not out, else one open for check-in now.
    checked_in = next((s for s in signups if s.is_checked_in), None)
    current = checked_in or next(
        (
            s
            for s in signups
            if s.status == Signup.Status.CONFIRMED
            and s.checked_in_at is None
            and s.shift.starts_at - opens_before <= now < s.shift.ends_at
        ),
        None,
    )
    return render(
        request,
        "volunteers/volunteer/checkin.html",
        {
            "activity": activity,
            "token": token,
            "token_valid": checkin_codes.token_valid(activity.checkin_secret, activity.pk, token, now),
            "signups": signups,
            "current": current,
            "checked_in": checked_in,
            "waitlisted_now": any(
                s.status == Signup.Status.WAITLISTED
                and s.shift.starts_at - opens_before <= now < s.shift.ends_at
                for s in signups
            ),
            "now": now,
        },
    )


@login_required
@require_POST
def signup_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    signup = selectors.signup_for_owner(user=request.user, pk=pk)
    try:
        record = services.checkout(signup=signup, by=request.user, now=timezone.now())
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Checked out: %(hours)s hours recorded. They count once the organiser approves them.")
            % {"hours": hours_text(record.minutes)},
        )
    return redirect(_safe_next(request, reverse("volunteer_me")))


# --- the volunteer's own page ------------------------------------------------------------------------------


def _record_rows(profile: VolunteerProfile):
    return (
        selectors.hour_records_for_volunteer(volunteer=profile)
        .select_related("activity__campaign", "recorded_by")
        .annotate(
            correction_pending=Exists(
                HourRecord.objects.filter(corrects=OuterRef("pk"), status=HourRecord.Status.PENDING)
            )
        )
        .order_by("-started_at", "-pk")
    )


@login_required
def volunteer_me(request: HttpRequest) -> HttpResponse:
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    now = timezone.now()
    # A check-in left open after its shift is closed at the shift's end (flagged) before the page is read.
    services.missed_checkouts_close(now=now, volunteer=profile)
    signups = selectors.signups_for_volunteer(volunteer=profile).exclude(status=Signup.Status.CANCELLED)
    upcoming = list(
        signups.filter(shift__ends_at__gt=now).select_related("shift__activity").order_by("shift__starts_at")
    )
    for signup in upcoming:
        signup.can_cancel = signup.checked_in_at is None and signup.shift.starts_at > now
        signup.checkin_open = (
            signup.status == Signup.Status.CONFIRMED
            and signup.checked_in_at is None
            and signup.shift.starts_at - services.CHECKIN_OPENS_BEFORE <= now
        )
    history = list(signups.filter(shift__ends_at__lte=now).order_by("-shift__starts_at")[:HISTORY_LIMIT])
    records = list(_record_rows(profile)[:HISTORY_LIMIT])
    for record in records:
        record.hours = hours_text(record.minutes)
    totals = selectors.totals_for_volunteer(volunteer=profile)
    rejected = HourRecord.objects.filter(volunteer=profile, status=HourRecord.Status.REJECTED).aggregate(
        minutes=Sum("minutes"), records=Count("pk")
    )
    certificates = list(Certificate.objects.filter(volunteer=profile).order_by("-issued_on", "-pk"))
    for certificate in certificates:
        certificate.hours = hours_text(certificate.minutes)
    teams = list(
        TeamMembership.objects.filter(volunteer=profile).select_related("team").order_by("team__name")
    )
    today = timezone.localdate(now)
    age = profile.age_on(today)
    return render(
        request,
        "volunteers/volunteer/me.html",
        {
            "profile": profile,
            "upcoming": upcoming,
            "history": history,
            "records": records,
            "totals": totals,
            "approved_hours": hours_text(totals.minutes),
            "pending_hours": hours_text(totals.pending_minutes),
            "rejected_records": rejected["records"],
            "rejected_hours": hours_text(rejected["minutes"] or 0),
            "next_star_hours": hours_text(totals.next_star[1]) if totals.next_star else None,
            "star_range": range(1, 6),
            "certificates": certificates,
            "teams": teams,
            "consent_missing": age < 18 and profile.guardian_consent_at is None,
            "under_consent_age": age < GUARDIAN_CONSENT_AGE,
            "skills": _list_text(dict(Skill.choices).get(code, code) for code in profile.skills),
            "now": now,
        },
    )


@login_required
@require_POST
def guardian_agrees(request: HttpRequest) -> HttpResponse:
    """From 14 a volunteer confirms their guardian's agreement themselves (one who registered younger)."""
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    if request.POST.get("agrees") != "1":
        messages.error(request, _("Tick the box once your parent or guardian has agreed."))
        return redirect("volunteer_me")
    try:
        services.guardian_consent_record(volunteer=profile, recorded_by=request.user, now=timezone.now())
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you: your guardian's agreement is recorded. You can sign up now."))
    return redirect("volunteer_me")


@login_required
def record_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """The Measures give volunteers the right to ask for a wrong record to be corrected."""
    record = selectors.hour_record_for_owner(user=request.user, pk=pk)
    local = timezone.localtime
    form = CorrectionRequestForm(
        request.POST or None,
        initial={
            "started_at": local(record.started_at).replace(tzinfo=None),
            "ended_at": local(record.ended_at).replace(tzinfo=None),
            "content": record.content,
        },
    )
    correctable = record.status == HourRecord.Status.APPROVED and not record.superseded
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.hour_record_correct(
                record=record,
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                content=data["content"],
                reason=data["reason"],
                requested_by=request.user,
                now=timezone.now(),
            )
        except VolunteerError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Your correction request is sent. The organiser of the activity will decide on it."),
            )
            return redirect("volunteer_me")
    return render(
        request,
        "volunteers/volunteer/record_correct.html",
        {"record": record, "form": form, "correctable": correctable, "hours": hours_text(record.minutes)},
    )


@login_required
def volunteer_records_export(request: HttpRequest) -> HttpResponse:
    """The volunteer's own records with the fields the Measures name, as .xlsx or as CSV."""
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    records = (
        _record_rows(profile)
        .select_related("volunteer")
        .prefetch_related(Prefetch("activity__organisers", queryset=User.objects.order_by("pk")))
        .order_by("started_at", "pk")
    )
    header, rows = exports.measures_table(records, decisions=False)
    return exports.spreadsheet_response(
        header,
        rows,
        stem=f"volunteer-hours-{profile.volunteer_number}",
        file_format="csv" if request.GET.get("format") == "csv" else "xlsx",
    )


# --- certificates ------------------------------------------------------------------------------------------


@login_required
@require_POST
def certificate_issue(request: HttpRequest) -> HttpResponse:
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    try:
        certificate = services.certificate_issue(
            volunteer=profile, issued_by=request.user, now=timezone.now()
        )
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Certificate %(number)s is issued, free of charge. Download it below.")
            % {"number": certificate.number},
        )
    return redirect(f"{reverse('volunteer_me')}#certificates")


@login_required
def certificate_download(request: HttpRequest, number: str) -> HttpResponse:
    certificate = selectors.certificate_for_owner(user=request.user, number=number)
    verify_url = request.build_absolute_uri(
        reverse("volunteer_certificate_verify", args=[certificate.verification_token])
    )
    pdf = certificate_pdf(certificate, verify_url=verify_url, language=get_language() or "zh-hans")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{certificate.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def certificate_verify(request: HttpRequest, token: str) -> HttpResponse:
    """Public: what the certificate states, nothing more about the person (no phone, birth date, region)."""
    try:
        certificate = selectors.certificate_by_token(token=token)
    except Http404:
        response = render(request, "volunteers/volunteer/certificate_unknown.html", status=404)
    else:
        response = render(
            request,
            "volunteers/volunteer/certificate_verify.html",
            {
                "certificate": certificate,
                "hours": hours_text(certificate.minutes),
                # Anyone with the QR code reads this page and most holders are minors: enough of the name to
                # match the paper (张伟 → 张*), not the name itself.
                "holder": selectors.masked_name(certificate.holder_name),
            },
        )
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- teams -------------------------------------------------------------------------------------------------


def _team_for_member(request: HttpRequest, pk: int) -> tuple[Team, bool]:
    """The team and whether the user leads it. The gate answers 403 to a member who does not lead, whom this
    page still shows the team read-only, and 404 to everyone else."""
    try:
        return selectors.team_for_leader(user=request.user, pk=pk), True
    except PermissionDenied:
        return Team.objects.select_related("region", "school").get(pk=pk), False


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    profile = selectors.volunteer_profile_for_user(user=request.user)
    memberships = []
    if profile is not None:
        memberships = list(
            TeamMembership.objects.filter(volunteer=profile)
            .select_related("team__region", "team__school")
            .annotate(member_count=Count("team__memberships"))
            .order_by("team__name")
        )
    form = TeamCreateForm(
        initial={"region": profile.region_id, "school": profile.school_id} if profile else None
    )
    return render(
        request,
        "volunteers/volunteer/team_list.html",
        {"profile": profile, "memberships": memberships, "form": form},
    )


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    profile = _require_profile(request)
    if isinstance(profile, HttpResponse):
        return profile
    form = TeamCreateForm(
        request.POST or None, initial={"region": profile.region_id, "school": profile.school_id}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            team = services.team_create(
                name=data["name"],
                kind=data["kind"],
                region=data["region"],
                school=data["school"],
                leader=profile,
            )
        except VolunteerError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Team “%(name)s” is created and you lead it.") % {"name": team.name})
            return redirect("volunteer_team_detail", pk=team.pk)
    return render(request, "volunteers/volunteer/team_form.html", {"form": form})


@login_required
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team, leads = _team_for_member(request, pk)
    today = timezone.localdate()
    memberships = list(
        TeamMembership.objects.filter(team=team)
        .select_related("volunteer__user")
        .order_by("-is_leader", "joined_at", "pk")
    )
    for membership in memberships:
        volunteer = membership.volunteer
        age = volunteer.age_on(today)
        membership.is_me = volunteer.user_id == request.user.pk
        # A leader sees who still needs a consent on record; nobody here sees a member's birth date or phone.
        membership.needs_consent = (
            leads and age < GUARDIAN_CONSENT_AGE and volunteer.guardian_consent_at is None
        )
        membership.is_minor = age < 18
    return render(
        request,
        "volunteers/volunteer/team_detail.html",
        {
            "team": team,
            "leads": leads,
            "memberships": memberships,
            "add_form": TeamMemberAddForm() if leads else None,
            "my_volunteer_id": next((m.volunteer_id for m in memberships if m.is_me), None),
            "totals": selectors.totals_for_team(team=team),
        },
    )


@login_required
@require_POST
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.team_for_leader(user=request.user, pk=pk)
    form = TeamMemberAddForm(request.POST)
    if form.is_valid():
        number = form.cleaned_data["volunteer_number"]
        volunteer = (
            VolunteerProfile.objects.select_related("user")
            .filter(volunteer_number=number, real_name=form.cleaned_data["real_name"])
            .first()
        )
        if volunteer is None:
            # One answer for an unknown number and a wrong name: the form tells nobody whose number it is.
            messages.error(
                request,
                _("No volunteer has the number %(number)s and that real name. Check both with them.")
                % {"number": number},
            )
        else:
            try:
                services.team_member_add(team=team, volunteer=volunteer, by=request.user)
            except VolunteerError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("%(name)s joined the team.") % {"name": volunteer.public_name})
    else:
        messages.error(request, _("Enter the volunteer number and the real name of the person to add."))
    return redirect("volunteer_team_detail", pk=team.pk)


@login_required
@require_POST
def team_member_remove(request: HttpRequest, pk: int, volunteer_pk: int) -> HttpResponse:
    team, leads = _team_for_member(request, pk)
    membership = get_object_or_404(
        TeamMembership.objects.select_related("volunteer__user"), team=team, volunteer_id=volunteer_pk
    )
    leaving = membership.volunteer.user_id == request.user.pk
    if not leads and not leaving:
        raise PermissionDenied
    try:
        services.team_member_remove(team=team, volunteer=membership.volunteer, by=request.user)
    except VolunteerError as error:
        messages.error(request, error.message)
        return redirect("volunteer_team_detail", pk=team.pk)
    if leaving:
        messages.success(request, _("You have left the team."))
        return redirect("volunteer_team_list")
    messages.success(
        request, _("%(name)s is no longer in the team.") % {"name": membership.volunteer.public_name}
    )
    return redirect("volunteer_team_detail", pk=team.pk)


@login_required
@require_POST
def team_guardian_consent(request: HttpRequest, pk: int, volunteer_pk: int) -> HttpResponse:
    team = selectors.team_for_leader(user=request.user, pk=pk)
    membership = get_object_or_404(
        TeamMembership.objects.select_related("volunteer__user"), team=team, volunteer_id=volunteer_pk
    )
    if request.POST.get("seen") != "1":
        messages.error(
            request, _("Tick the box to confirm that you have seen the guardian's signed consent.")
        )
        return redirect("volunteer_team_detail", pk=team.pk)
    try:
        services.guardian_consent_record(
            volunteer=membership.volunteer, recorded_by=request.user, now=timezone.now()
        )
    except VolunteerError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The guardian's consent for %(name)s is recorded: they can sign up for shifts now.")
            % {"name": membership.volunteer.public_name},
        )
    return redirect("volunteer_team_detail", pk=team.pk)


# --- the home page's volunteer card ------------------------------------------------------------------------


def home_context(*, user: User) -> dict:
    """For edu/home.py: the volunteer's next shift, approved hours and stars; nothing for non-volunteers."""
    profile = selectors.volunteer_profile_for_user(user=user)
    if profile is None:
        return {}
    totals = selectors.totals_for_volunteer(volunteer=profile)
    next_signup = (
        selectors.signups_for_volunteer(volunteer=profile)
        .filter(status__in=LIVE_STATUSES, shift__ends_at__gt=timezone.now())
        .order_by("shift__starts_at")
        .first()
    )
    return {
        "volunteer_profile": profile,
        "volunteer_totals": totals,
        "volunteer_hours": hours_text(totals.minutes),
        "volunteer_pending_hours": hours_text(totals.pending_minutes),
        "volunteer_next_signup": next_signup,
    }

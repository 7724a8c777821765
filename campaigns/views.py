"""Campaign pages: the public list and detail; create and edit for the region's organisers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.forms import CampaignForm, TermForm
from campaigns.models import Campaign, Enrollment
from edu.selectors import can_manage_school

WHEN_FILTERS = ("current", "upcoming", "past")


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaigns_visible(user=request.user)
    today = timezone.localdate()
    when = request.GET.get("when", "")
    if when == "current":
        campaigns = campaigns.filter(starts_on__lte=today, ends_on__gte=today)
    elif when == "upcoming":
        campaigns = campaigns.filter(starts_on__gt=today)
    elif when == "past":
        campaigns = campaigns.filter(ends_on__lt=today)
    kind = request.GET.get("kind", "")
    if kind in Campaign.Kind.values:
        campaigns = campaigns.filter(kind=kind)
    page = Paginator(campaigns.order_by("-starts_on", "title"), 12).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "page": page,
            "when": when,
            "kind": kind,
            "kinds": Campaign.Kind.choices,
            "can_create": _may_create(request.user),
        },
    )


def _may_create(user) -> bool:
    return user.is_authenticated and (user.is_superuser or (user.is_organiser and user.region_id is not None))


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_for_user(user=request.user, pk=pk)
    term = selectors.term_of_campaign(campaign=campaign)
    school_term = None
    if (
        term is not None
        and request.user.is_authenticated
        and request.user.is_teacher
        and request.user.school_id
    ):
        school_term = selectors.school_term(term=term, school=request.user.school)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "organisers": campaign.organisers.all(),
            "can_edit": selectors.can_edit_campaign(user=request.user, campaign=campaign),
            "term": term,
            "can_enroll": term is not None
            and selectors.enrollment_reach(user=request.user, term=term) is not None,
            "school_term": school_term,
            "can_admin": school_term is not None
            and can_manage_school(user=request.user, school=school_term.enrollment.school),
        },
    )


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    if not _may_create(request.user):
        raise PermissionDenied
    return _campaign_form(request, Campaign())


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _campaign_form(request, selectors.campaign_for_editor(user=request.user, pk=pk))


def _campaign_form(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    form = CampaignForm(request.POST or None, request.FILES or None, instance=campaign, editor=request.user)
    if request.method == "POST" and form.is_valid():
        is_new = campaign.pk is None
        campaign = services.campaign_save(
            campaign=form.save(commit=False), organisers=form.cleaned_data["organisers"], editor=request.user
        )
        messages.success(request, _("Campaign created.") if is_new else _("Campaign saved."))
        return redirect("campaign_detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


# --- second-classroom terms and enrollment ----------------------------------------------------------------

ENROLLMENT_FILTERS = ("invited", "enrolled", "declined", "none")


@login_required
def term_create(request: HttpRequest) -> HttpResponse:
    if not _may_create(request.user):
        raise PermissionDenied
    campaign = Campaign(kind=Campaign.Kind.SECOND_CLASSROOM)
    form = TermForm(request.POST or None, instance=campaign, editor=request.user)
    if request.method == "POST" and form.is_valid():
        term = services.term_create(
            campaign=form.save(commit=False),
            grades=form.cleaned_data["grades"],
            target_registration_pct=form.cleaned_data["target_registration_pct"],
            target_participation_pct=form.cleaned_data["target_participation_pct"],
            pass_mark_pct=form.cleaned_data["pass_mark_pct"],
            by=request.user,
        )
        messages.success(request, _("Term created. Now enroll or invite the schools."))
        return redirect("term_detail", pk=term.campaign_id)
    return render(request, "campaigns/term_form.html", {"form": form, "campaign": campaign})


@login_required
def term_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_for_editor(user=request.user, pk=pk)
    if campaign.kind != Campaign.Kind.SECOND_CLASSROOM:
        raise Http404("Not a second-classroom campaign.")
    term = selectors.term_of_campaign(campaign=campaign)
    form = TermForm(request.POST or None, instance=campaign, editor=request.user, term=term)
    if request.method == "POST" and form.is_valid():
        services.term_update(
            campaign=form.save(commit=False),
            grades=form.cleaned_data["grades"],
            target_registration_pct=form.cleaned_data["target_registration_pct"],
            target_participation_pct=form.cleaned_data["target_participation_pct"],
            pass_mark_pct=form.cleaned_data["pass_mark_pct"],
            by=request.user,
        )
        messages.success(request, _("Term saved."))
        return redirect("term_detail", pk=campaign.pk)
    return render(request, "campaigns/term_form.html", {"form": form, "campaign": campaign})


@login_required
@require_GET
def term_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The organiser's view of a term: the schools of their region, each with its enrollment and checklist."""
    term, reach = selectors.term_for_enroller(user=request.user, pk=pk)
    schools = selectors.enrollable_schools(reach=reach).select_related("region")
    query = request.GET.get("q", "").strip()
    if query:
        schools = schools.filter(Q(name__icontains=query) | Q(name_en__icontains=query) | Q(code=query))
    status = request.GET.get("status", "")
    enrolled_here = Enrollment.objects.filter(term=term, school=OuterRef("pk"))
    if status == "none":
        schools = schools.exclude(Exists(enrolled_here))
    elif status in ENROLLMENT_FILTERS:
        schools = schools.filter(Exists(enrolled_here.filter(status=status)))
    page = Paginator(schools.order_by("region_path", "name", "pk"), 25).get_page(request.GET.get("page"))
    school_list = list(page.object_list)
    enrollments = selectors.enrollments_by_school(term=term, schools=school_list)
    checklists = selectors.term_checklists(term=term, school_ids=[school.pk for school in school_list])
    counts = dict(
        Enrollment.objects.filter(term=term, school__region_path__startswith=reach)
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return render(
        request,
        "campaigns/term_detail.html",
        {
            "term": term,
            "campaign": term.campaign,
            "page": page,
            "rows": [(school, enrollments.get(school.pk), checklists[school.pk]) for school in school_list],
            "counts": counts,
            "total_schools": selectors.enrollable_schools(reach=reach).count(),
            "query": query,
            "status": status,
            "can_edit": selectors.can_edit_campaign(user=request.user, campaign=term.campaign),
        },
    )


@login_required
@require_POST
def term_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    term, reach = selectors.term_for_enroller(user=request.user, pk=pk)
    action = request.POST.get("action")
    if action not in ("invite", "enroll"):
        return HttpResponseBadRequest(_("Choose whether to invite or to enroll the schools."))
    codes = request.POST.getlist("school")[:500]
    schools = list(selectors.enrollable_schools(reach=reach).filter(code__in=codes))
    if not schools:
        messages.error(request, _("Tick the schools first."))
    else:
        now = timezone.now()
        change = services.enrollment_invite if action == "invite" else services.enrollment_enroll
        with transaction.atomic():
            for school in schools:
                change(term=term, school=school, by=request.user, now=now)
        if action == "invite":
            message = ngettext("%(count)s school invited.", "%(count)s schools invited.", len(schools))
        else:
            message = ngettext("%(count)s school enrolled.", "%(count)s schools enrolled.", len(schools))
        messages.success(request, message % {"count": len(schools)})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("term_detail", pk=term.campaign_id)


@login_required
@require_POST
def enrollment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The school admin takes part in a term, or declines the invitation."""
    enrollment = selectors.enrollment_for_school_admin(user=request.user, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("accept", "decline"):
        return HttpResponseBadRequest(_("Choose whether to take part or to decline."))
    try:
        services.enrollment_decide(
            enrollment=enrollment, accept=decision == "accept", by=request.user, now=timezone.now()
        )
    except services.EnrollmentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Your school takes part in %(term)s.") % {"term": enrollment.term}
            if decision == "accept"
            else _("You declined %(term)s.") % {"term": enrollment.term},
        )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("school_detail", code=enrollment.school.code)

"""Campaign pages: the public list and detail; create and edit for the region's organisers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import selectors, services
from campaigns.forms import CampaignForm
from campaigns.models import Campaign

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
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "organisers": campaign.organisers.all(),
            "can_edit": selectors.can_edit_campaign(user=request.user, campaign=campaign),
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

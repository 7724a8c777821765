"""Reads of campaigns, scoped to the asking user: the gates `campaign_for_user` and `campaign_for_editor`."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from campaigns.models import Campaign
from edu.models import User
from edu.selectors import ancestor_paths, home_region_path


def campaigns_editable(*, user: User) -> QuerySet[Campaign]:
    """An organiser edits the campaigns of their region and every region under it; a site admin, all."""
    if not user.is_authenticated:
        return Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    if user.is_organiser and user.region_id:
        return Campaign.objects.filter(region__path__startswith=user.region.path)
    return Campaign.objects.none()


def can_edit_campaign(*, user: User, campaign: Campaign) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(user.is_organiser and user.region_id and campaign.region.path.startswith(user.region.path))


def campaigns_visible(*, user: User) -> QuerySet[Campaign]:
    """Published campaigns are public outreach; drafts only for those who may edit them."""
    visible = Campaign.objects.filter(is_published=True)
    if user.is_authenticated and (user.is_superuser or user.is_organiser):
        visible = Campaign.objects.filter(
            Q(is_published=True) | Q(pk__in=campaigns_editable(user=user).values("pk"))
        )
    return visible.select_related("region")


def campaigns_for_home(*, user: User, limit: int = 6) -> list[Campaign]:
    """Current and upcoming campaigns that reach the user: their region, the regions above it and,
    for an organiser, the regions below it."""
    today = timezone.localdate()
    campaigns = campaigns_visible(user=user).filter(ends_on__gte=today)
    path = home_region_path(user=user)
    if path:
        reach = Q(region__path__in=ancestor_paths(path))
        if user.is_organiser:
            reach |= Q(region__path__startswith=path)
        campaigns = campaigns.filter(reach)
    return list(campaigns.order_by("starts_on", "title")[:limit])


def campaigns_under_way(*, user: User) -> QuerySet[Campaign]:
    """The campaigns an organiser runs that are under way today."""
    today = timezone.localdate()
    return campaigns_editable(user=user).filter(starts_on__lte=today, ends_on__gte=today)


def campaign_for_user(*, user: User, pk: int) -> Campaign:
    campaign = campaigns_visible(user=user).filter(pk=pk).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def campaign_for_editor(*, user: User, pk: int) -> Campaign:
    campaign = campaign_for_user(user=user, pk=pk)
    if not can_edit_campaign(user=user, campaign=campaign):
        raise PermissionDenied
    return campaign

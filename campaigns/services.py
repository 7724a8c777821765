"""Writes of campaigns."""

from django.db import transaction

from campaigns.models import Campaign
from edu.models import User


def campaign_save(*, campaign: Campaign, organisers, editor: User) -> Campaign:
    """Create or update a campaign; whoever creates it is one of its organisers."""
    with transaction.atomic():
        if campaign.pk is None:
            campaign.created_by = editor
        campaign.save()
        members = set(organisers)
        if editor.is_organiser:
            members.add(editor)
        campaign.organisers.set(members)
    return campaign

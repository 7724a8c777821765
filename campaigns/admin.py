"""Django admin for campaigns."""

from django.contrib import admin

from campaigns.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "region", "starts_on", "ends_on", "is_published"]
    list_filter = ["kind", "is_published", "starts_on"]
    search_fields = ["title", "description", "region__name"]
    autocomplete_fields = ["region", "organisers"]
    date_hierarchy = "starts_on"
    list_select_related = ["region"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

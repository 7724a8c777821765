"""Django admin for campaigns."""

from django.contrib import admin

from campaigns.models import Campaign, Enrollment, Term


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "region", "starts_on", "ends_on", "is_published"]
    list_filter = ["kind", "is_published", "starts_on"]
    search_fields = ["title", "description", "region__name"]
    autocomplete_fields = ["region", "organisers"]
    date_hierarchy = "starts_on"
    list_select_related = ["region"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    fields = ["school", "status", "invited_by", "invited_at", "decided_by", "decided_at"]
    readonly_fields = ["invited_by", "invited_at", "decided_by", "decided_at"]
    autocomplete_fields = ["school"]


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["campaign", "grades_display", "target_registration_pct", "target_participation_pct"]
    search_fields = ["campaign__title"]
    autocomplete_fields = ["campaign"]
    list_select_related = ["campaign"]
    inlines = [EnrollmentInline]

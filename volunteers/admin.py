"""Django admin for volunteers. Hour records are decided through the services, never edited here once
approved: an approved record is read-only and cannot be deleted (corrections are new records)."""

from django.contrib import admin

from volunteers.models import (
    Activity,
    Certificate,
    HourRecord,
    RegionHourTotal,
    Shift,
    Signup,
    Team,
    TeamMembership,
    VolunteerProfile,
)


@admin.register(VolunteerProfile)
class VolunteerProfileAdmin(admin.ModelAdmin):
    list_display = ["volunteer_number", "user", "region", "school", "approved_minutes", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["volunteer_number", "real_name", "user__username", "user__nickname", "phone"]
    autocomplete_fields = ["user", "region", "school"]
    list_select_related = ["user", "region", "school"]
    # The number is issued by the server, the rollup kept by approvals.
    readonly_fields = [
        "volunteer_number",
        "approved_minutes",
        "guardian_consent_at",
        "guardian_consent_recorded_by",
        "created_at",
    ]


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["volunteer"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region", "school", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    autocomplete_fields = ["region", "school"]
    list_select_related = ["region", "school"]
    inlines = [TeamMembershipInline]


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0
    readonly_fields = ["reminder_sent_at"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "region", "open_to", "signup_opens_at", "is_published"]
    list_filter = ["is_published", "open_to"]
    search_fields = ["title", "address", "campaign__title"]
    autocomplete_fields = ["campaign", "region", "team", "school", "organisers"]
    list_select_related = ["campaign", "region"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [ShiftInline]


@admin.register(Signup)
class SignupAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "shift", "status", "checked_in_at", "checked_out_at", "auto_closed"]
    list_filter = ["status", "checkin_method", "auto_closed"]
    search_fields = ["volunteer__volunteer_number", "volunteer__user__username", "shift__activity__title"]
    list_select_related = ["volunteer__user", "shift__activity"]
    raw_id_fields = ["shift", "volunteer"]


@admin.register(HourRecord)
class HourRecordAdmin(admin.ModelAdmin):
    list_display = ["volunteer", "activity", "started_at", "minutes", "source", "status", "flagged"]
    list_filter = ["status", "source", "flagged", "approver_level"]
    search_fields = ["volunteer__volunteer_number", "volunteer__user__username", "activity__title"]
    list_select_related = ["volunteer__user", "activity"]
    raw_id_fields = ["volunteer", "activity", "signup", "corrects"]
    date_hierarchy = "started_at"
    # Decisions and the rollups go through services.hour_record_approve / _reject only.
    readonly_fields = ["status", "decided_by", "decided_at", "approver_level", "created_at"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete could sweep approved records along
        return actions

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == HourRecord.Status.APPROVED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == HourRecord.Status.APPROVED:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["number", "holder_name", "volunteer_number", "minutes", "issued_on"]
    search_fields = ["number", "holder_name", "volunteer_number"]
    date_hierarchy = "issued_on"
    raw_id_fields = ["volunteer"]

    # A certificate is a snapshot someone holds on paper: it is never edited.
    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RegionHourTotal)
class RegionHourTotalAdmin(admin.ModelAdmin):
    list_display = ["region", "minutes", "records"]
    list_select_related = ["region"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

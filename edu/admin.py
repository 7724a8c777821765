"""Django admin for the core models: the site admins' tool, with search and filters."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from edu.models import Region, School, SchoolClass, Student, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "code", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["name", "name_en", "code"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path"]


class SchoolClassInline(admin.TabularInline):
    model = SchoolClass
    extra = 0
    fields = ["grade", "name", "headcount", "join_code", "join_enabled"]
    readonly_fields = ["join_code"]


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "level", "region", "student_headcount", "demonstration"]
    list_filter = ["level", "demonstration", ("region", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "name_en", "code"]
    autocomplete_fields = ["region"]
    list_select_related = ["region"]
    inlines = [SchoolClassInline]


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ["__str__", "school", "grade", "name", "headcount", "join_code", "join_enabled"]
    list_filter = ["grade", "join_enabled", "school__level"]
    search_fields = ["name", "school__name", "school__code", "join_code"]
    autocomplete_fields = ["school"]
    list_select_related = ["school"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "nickname",
        "is_student",
        "is_teacher",
        "is_volunteer",
        "is_organiser",
        "is_staff",
    ]
    list_filter = [
        "is_student",
        "is_teacher",
        "is_school_admin",
        "is_volunteer",
        "is_organiser",
        "is_staff",
        "is_superuser",
        "is_active",
    ]
    search_fields = ["username", "nickname", "first_name", "last_name", "email"]
    autocomplete_fields = ["school_class", "school", "region"]
    list_select_related = []
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (
            _("Roles in Qingkong"),
            {
                "fields": [
                    "nickname",
                    "is_student",
                    "school_class",
                    "is_teacher",
                    "is_school_admin",
                    "school",
                    "is_volunteer",
                    "is_organiser",
                    "region",
                ]
            },
        ),
    ]


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    """Roster records. Claim codes are never shown (only their hash is stored) and are issued from the class
    page, which prints them."""

    list_display = ["student_number", "real_name", "school", "claimed_at", "graduated_on"]
    list_filter = [("school", admin.RelatedOnlyFieldListFilter), "gender", "graduated_on"]
    search_fields = ["student_number", "real_name", "user__username", "school__name", "school__code"]
    autocomplete_fields = ["user", "school"]
    list_select_related = ["school"]
    readonly_fields = [
        "claim_code_issued_at",
        "claimed_at",
        "guardian_consent_at",
        "guardian_consent_recorded_by",
        "created_at",
    ]

"""The volunteers' own pages, mounted at /volunteers/."""

from django.urls import path
from django.views.generic import RedirectView

from volunteers import views_volunteer as views

urlpatterns = [
    # The section's address: the activities anyone may browse.
    path("", RedirectView.as_view(pattern_name="volunteer_activity_list"), name="volunteer_index"),
    path("register/", views.volunteer_register, name="volunteer_register"),
    path("profile/", views.volunteer_profile_edit, name="volunteer_profile_edit"),
    path("me/", views.volunteer_me, name="volunteer_me"),
    path("me/export/", views.volunteer_records_export, name="volunteer_records_export"),
    path("me/guardian-agrees/", views.guardian_agrees, name="volunteer_guardian_agrees"),
    path("activities/", views.activity_list, name="volunteer_activity_list"),
    path("activities/<int:pk>/", views.activity_detail, name="volunteer_activity_detail"),
    path("shifts/<int:pk>/signup/", views.shift_signup, name="volunteer_shift_signup"),
    path("signups/<int:pk>/cancel/", views.signup_cancel, name="volunteer_signup_cancel"),
    path("signups/<int:pk>/checkout/", views.signup_checkout, name="volunteer_signup_checkout"),
    path("checkin/<int:activity_pk>/<str:token>/", views.checkin, name="volunteer_checkin"),
    path("records/<int:pk>/correct/", views.record_correct, name="volunteer_record_correct"),
    path("certificates/issue/", views.certificate_issue, name="volunteer_certificate_issue"),
    path("certificates/<str:number>.pdf", views.certificate_download, name="volunteer_certificate_pdf"),
    path("verify/<str:token>/", views.certificate_verify, name="volunteer_certificate_verify"),
    path("teams/", views.team_list, name="volunteer_team_list"),
    path("teams/new/", views.team_create, name="volunteer_team_create"),
    path("teams/<int:pk>/", views.team_detail, name="volunteer_team_detail"),
    path("teams/<int:pk>/members/add/", views.team_member_add, name="volunteer_team_member_add"),
    path(
        "teams/<int:pk>/members/<int:volunteer_pk>/remove/",
        views.team_member_remove,
        name="volunteer_team_member_remove",
    ),
    path(
        "teams/<int:pk>/members/<int:volunteer_pk>/consent/",
        views.team_guardian_consent,
        name="volunteer_team_guardian_consent",
    ),
]

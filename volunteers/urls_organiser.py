"""The organisers' volunteer pages, mounted at /volunteers/manage/ by volunteers/urls.py."""

from django.urls import path

from volunteers import views_organiser as views

urlpatterns = [
    path("", views.manage_index, name="volunteer_manage"),
    path("activities/", views.activity_list, name="volunteer_manage_activities"),
    path("activities/new/", views.activity_create, name="volunteer_manage_activity_create"),
    path("activities/<int:pk>/", views.activity_roster, name="volunteer_manage_activity"),
    path("activities/<int:pk>/edit/", views.activity_edit, name="volunteer_manage_activity_edit"),
    path("activities/<int:pk>/qr/", views.activity_qr, name="volunteer_manage_qr"),
    path("activities/<int:pk>/qr.json", views.activity_qr_json, name="volunteer_manage_qr_json"),
    path("activities/<int:pk>/kiosk/", views.activity_kiosk, name="volunteer_manage_kiosk"),
    path("activities/<int:pk>/sheet/", views.activity_sheet, name="volunteer_manage_sheet"),
    path("signups/<int:pk>/checkin/", views.signup_checkin, name="volunteer_manage_checkin"),
    path("signups/<int:pk>/checkout/", views.signup_checkout, name="volunteer_manage_checkout"),
    path("hours/", views.hour_queue, name="volunteer_manage_hours"),
    path("hours/export/", views.hour_export, name="volunteer_manage_hours_export"),
    path("hours/approve/", views.hour_approve, name="volunteer_manage_hours_approve"),
    path("hours/new/", views.hour_backfill, name="volunteer_manage_backfill"),
    path("hours/<int:pk>/", views.hour_record_detail, name="volunteer_manage_record"),
    path("hours/<int:pk>/reject/", views.hour_reject, name="volunteer_manage_reject"),
    path("totals/", views.totals, name="volunteer_manage_totals"),
    path("volunteers/", views.volunteer_list, name="volunteer_manage_volunteers"),
    path("volunteers/<int:pk>/consent/", views.guardian_consent, name="volunteer_manage_consent"),
]

"""Every URL of the site; apps keep their own urls.py and are included here."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from edu import home, views, views_progress, views_roster

urlpatterns = [
    path("", home.home, name="home"),
    # First among the rest: a quiz's answers are the site's busiest requests, and Django tries the patterns
    # in order (about 40 before these otherwise). None of them overlaps another prefix here.
    path("", include("quizzes.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/signup/", views.StudentSignupView.as_view(), name="account_signup"),
    path("accounts/claim/", views_roster.claim, name="account_claim"),
    path("accounts/", include("allauth.urls")),
    path("schools/", views.school_list, name="school_list"),
    path("schools/<str:code>/", views.school_detail, name="school_detail"),
    path("schools/<str:code>/roster/", views_roster.school_roster, name="school_roster"),
    path(
        "schools/<str:code>/roster/template/",
        views_roster.school_roster_template,
        name="school_roster_template",
    ),
    path(
        "schools/<str:code>/roster/<str:token>/",
        views_roster.school_roster_preview,
        name="school_roster_preview",
    ),
    path("schools/<str:code>/consent-rule/", views_roster.school_consent_rule, name="school_consent_rule"),
    path("schools/<str:code>/promote/", views_roster.school_promote, name="school_promote"),
    path("classes/join/", views.class_join, name="class_join"),
    path("classes/<int:pk>/", views.class_detail, name="class_detail"),
    path("classes/<int:pk>/join-code/", views.class_join_code_regenerate, name="class_join_code_regenerate"),
    path("classes/<int:pk>/join-toggle/", views.class_join_toggle, name="class_join_toggle"),
    path("classes/<int:pk>/claim-slips/", views_roster.class_claim_slips, name="class_claim_slips"),
    path("classes/<int:pk>/reminders/", views_progress.class_reminders, name="class_reminders"),
    path("classes/<int:pk>/teachers/", views_roster.class_teachers, name="class_teachers"),
    path("students/<int:pk>/move/", views_roster.student_move, name="student_move"),
    path("students/<int:pk>/consent/", views_roster.student_consent, name="student_consent"),
    path("students/<int:pk>/export/", views_roster.student_export, name="student_export"),
    path("students/<int:pk>/delete/", views_roster.student_delete, name="student_delete"),
    path("campaigns/", include("campaigns.urls")),
    path("bank/", include("quizzes.bank_urls")),
    path("live/", include("quizzes.live_urls")),
    path("volunteers/", include("volunteers.urls")),
    path("stats/", include("stats.urls")),
    path("admin/", admin.site.urls),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

"""The campaign survey report's pages, included at /stats/surveys/."""

from django.urls import path

from stats import views_surveys

urlpatterns = [
    path("campaign/<int:pk>/", views_surveys.survey_report, name="survey_report"),
    path(
        "campaign/<int:pk>/regions/<int:region_pk>/",
        views_surveys.survey_report_region,
        name="survey_report_region",
    ),
    path(
        "campaign/<int:pk>/schools/<str:code>/",
        views_surveys.survey_report_school,
        name="survey_report_school",
    ),
]

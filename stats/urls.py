from django.urls import include, path

from stats import views

urlpatterns = [
    path("", views.dashboard, name="stats_dashboard"),
    path("regions/<int:pk>/", views.region_dashboard, name="stats_region"),
    path("schools/<str:code>/", views.school_dashboard, name="stats_school"),
    path("weekly/", views.weekly_report, name="stats_weekly"),
    path("surveys/", include("stats.urls_surveys")),
]

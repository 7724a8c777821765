"""Volunteer pages: the volunteer's own (urls_volunteer) and the organisers' (urls_organiser, at manage/)."""

from django.urls import include, path

urlpatterns = [
    path("manage/", include("volunteers.urls_organiser")),
    path("", include("volunteers.urls_volunteer")),
]

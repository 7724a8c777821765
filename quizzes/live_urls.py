from django.urls import path

from quizzes import live_views

urlpatterns = [
    path("", live_views.live_index, name="live_index"),
    path("new/", live_views.live_create, name="live_create"),
    path("join/", live_views.live_join, name="live_join"),
    path("<int:pk>/play/", live_views.live_play, name="live_play"),
    path("<int:pk>/host/", live_views.live_host, name="live_host"),
    path("<int:pk>/results/", live_views.live_results, name="live_results"),
]

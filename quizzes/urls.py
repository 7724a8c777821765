from django.urls import path

from quizzes import views

urlpatterns = [
    path("attempts/<uuid:attempt_id>/", views.attempt_take, name="attempt_take"),
    path("attempts/<uuid:attempt_id>/answer/", views.attempt_answer, name="attempt_answer"),
    path("attempts/<uuid:attempt_id>/submit/", views.attempt_submit, name="attempt_submit"),
    path("attempts/<uuid:attempt_id>/review/", views.attempt_review, name="attempt_review"),
    path("quizzes/", views.quiz_list, name="quiz_list"),
    path("quizzes/new/", views.quiz_create, name="quiz_create"),
    path("quizzes/<int:pk>/", views.quiz_detail, name="quiz_detail"),
    path("quizzes/<int:pk>/edit/", views.quiz_edit, name="quiz_edit"),
    path("quizzes/<int:pk>/start/", views.quiz_start, name="quiz_start"),
    path("quizzes/<int:pk>/results/", views.quiz_results, name="quiz_results"),
    path("quizzes/<int:pk>/results/export/", views.quiz_results_export, name="quiz_results_export"),
    path("quizzes/<int:pk>/leaderboard/", views.quiz_leaderboard, name="quiz_leaderboard"),
    path("me/attempts/", views.my_attempts, name="my_attempts"),
]

from django.urls import path

from campaigns import views, views_figures, views_lessons

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("terms/new/", views.term_create, name="term_create"),
    path("<int:pk>/term/", views.term_detail, name="term_detail"),
    path("<int:pk>/term/edit/", views.term_edit, name="term_edit"),
    path("<int:pk>/term/enroll/", views.term_enroll, name="term_enroll"),
    path("enrollments/<int:pk>/decide/", views.enrollment_decide, name="enrollment_decide"),
    path("<int:pk>/term/lessons/", views_lessons.term_content, name="term_content"),
    path("<int:pk>/term/lessons/new/", views_lessons.lesson_create, name="lesson_create"),
    path("<int:pk>/term/exams/<int:grade>/", views_lessons.exam_set, name="exam_set"),
    path("lessons/<int:pk>/", views_lessons.lesson_detail, name="lesson_detail"),
    path("lessons/<int:pk>/done/", views_lessons.lesson_complete, name="lesson_complete"),
    path("lessons/<int:pk>/edit/", views_lessons.lesson_edit, name="lesson_edit"),
    path("lessons/<int:pk>/move/", views_lessons.lesson_move, name="lesson_move"),
    path("lessons/<int:pk>/delete/", views_lessons.lesson_delete, name="lesson_delete"),
    path("<int:pk>/term/figures/", views_figures.term_figures, name="term_figures"),
    path(
        "<int:pk>/term/figures/regions/<int:region_pk>/",
        views_figures.term_figures_region,
        name="term_figures_region",
    ),
    path(
        "<int:pk>/term/figures/schools/<str:code>/",
        views_figures.term_figures_school,
        name="term_figures_school",
    ),
    path("<int:pk>/term/figures/below-targets/", views_figures.term_figures_below, name="term_figures_below"),
]

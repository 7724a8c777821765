from django.urls import path

from campaigns import views

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
]

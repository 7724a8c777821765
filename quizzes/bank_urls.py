"""The question bank, under /bank/: staff pages to keep, import and export questions."""

from django.urls import path, re_path

from quizzes import bank_views

urlpatterns = [
    path("", bank_views.bank_list, name="bank_list"),
    path("new/", bank_views.bank_question_create, name="bank_question_create"),
    path("<int:pk>/", bank_views.bank_question_detail, name="bank_question_detail"),
    path("<int:pk>/edit/", bank_views.bank_question_edit, name="bank_question_edit"),
    path("import/", bank_views.bank_import, name="bank_import"),
    re_path(r"^import/(?P<token>[0-9a-f]{32})/$", bank_views.bank_import_preview, name="bank_import_preview"),
    path("export/", bank_views.bank_export, name="bank_export"),
    path("template/", bank_views.bank_template, name="bank_template"),
]

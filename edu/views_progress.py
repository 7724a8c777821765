"""The second-classroom part of the teacher's class page and the printable reminder sheet."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from edu import selectors
from edu.class_progress import ClassTermProgress, class_progress, class_term_for_teacher, class_terms
from edu.models import SchoolClass


def class_term_sections(*, school_class: SchoolClass) -> list[ClassTermProgress]:
    """One section per term the class takes part in now, for the class page (class_detail); the page shows
    the names in them to the school's teachers only, the counts to everyone who may see the class."""
    return class_progress(school_class=school_class, terms=class_terms(school_class=school_class))


@never_cache
@login_required
@require_GET
def class_reminders(request: HttpRequest, pk: int) -> HttpResponse:
    """A printable A4 sheet of the students with something missing in a term (`?term=<term id>`). It carries
    real names, so only the school's teachers get it: another school's teacher finds no such class (404), an
    organiser who may see the class's counts is refused (403), and so is a student."""
    school_class = selectors.class_for_user(user=request.user, pk=pk, manage=True)
    term = class_term_for_teacher(school_class=school_class, term_pk=request.GET.get("term"))
    [progress] = class_progress(school_class=school_class, terms=[term])
    return render(
        request,
        "edu/class_reminders.html",
        {
            "school_class": school_class,
            "term": term,
            "progress": progress,
            "reminders": progress.reminders,
            "today": timezone.localdate(),
            "claim_url": request.build_absolute_uri(reverse("account_claim")),
            "site_url": request.build_absolute_uri("/"),
        },
    )

"""The home page. Like urls.py and asgi.py it is project level: it sits above the apps and composes them,
while the core (models, selectors, services) imports no app."""

from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.lessons import student_paths
from campaigns.selectors import campaigns_for_home, campaigns_under_way
from edu import selectors
from edu.forms import JoinClassForm
from edu.models import Region, School
from quizzes.selectors import quizzes_open_for_user
from volunteers.views_volunteer import home_context as volunteer_home_context


def home(request: HttpRequest) -> HttpResponse:
    """One page that leads each role to its work; the sections shown follow the roles the user holds."""
    user = request.user
    context = {"campaigns": campaigns_for_home(user=user)}
    if user.is_authenticated:
        if user.is_student and user.school_class_id:
            context["student_class"] = user.school_class
            context["student_school"] = user.school_class.school
            context["student_paths"] = student_paths(user=user)
        context["open_quizzes"] = quizzes_open_for_user(user=user, limit=5)
        if user.is_teacher and user.school_id:
            context["teacher_school"] = user.school
            # On the platform: roster students who have claimed their account, and students who joined with
            # the class code; out of the roster's size (or the headcount typed in, without a roster).
            classes = list(selectors.classes_with_roster_counts(school=user.school))
            for klass in classes:
                klass.on_platform = klass.registered + klass.joined
                klass.size = selectors.class_headcount(klass)
            context["teacher_classes"] = classes
            context["teacher_totals"] = {
                "classes": len(classes),
                "joined": sum(c.on_platform for c in classes),
                "headcount": sum(c.size for c in classes),
            }
        if user.is_organiser and user.region_id:
            schools = School.objects.filter(region_path__startswith=user.region.path)
            context["organiser_region"] = user.region
            context["organiser_figures"] = schools.aggregate(
                schools=Count("pk"), students=Sum("student_headcount")
            )
            context["organiser_subregions"] = Region.objects.filter(parent=user.region).count()
            context["organiser_campaigns_under_way"] = campaigns_under_way(user=user).count()
        context.update(volunteer_home_context(user=user))
        if not user.roles:
            context["join_form"] = JoinClassForm()
    return render(request, "edu/home.html", context)

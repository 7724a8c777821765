"""Pages of the core: health, schools and classes, joining a class."""

import asyncio
import logging

from allauth.account.views import SignupView
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from campaigns.selectors import school_terms
from edu import selectors, services
from edu.forms import JoinClassForm
from edu.models import School
from edu.views_progress import class_term_sections

logger = logging.getLogger(__name__)


def _channel_layer_answers() -> bool:
    async def roundtrip() -> bool:
        layer = get_channel_layer()
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        return message.get("type") == "healthz.ping"

    return async_to_sync(roundtrip)()


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the channel layer both answer, else 503; for load balancers and monitors."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            checks["database"] = cursor.fetchone() == (1,)
    except Exception:  # a health check reports every failure instead of raising it
        logger.exception("healthz: database check failed")
        checks["database"] = False
    try:
        checks["channel_layer"] = _channel_layer_answers()
    except Exception:
        logger.exception("healthz: channel layer check failed")
        checks["channel_layer"] = False
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


@login_required
def school_list(request: HttpRequest) -> HttpResponse:
    """The schools a user may see; for an organiser, searchable and filterable by sub-region."""
    schools = selectors.schools_for_user(user=request.user).select_related("region")
    regions = selectors.regions_for_user(user=request.user)
    region_code = request.GET.get("region", "")
    region = regions.filter(code=region_code).first() if region_code else None
    if region:
        schools = schools.filter(region_path__startswith=region.path)
    query = request.GET.get("q", "").strip()
    if query:
        schools = schools.filter(Q(name__icontains=query) | Q(name_en__icontains=query) | Q(code=query))
    level = request.GET.get("level", "")
    if level in School.Level.values:
        schools = schools.filter(level=level)
    schools = schools.annotate(class_count=Count("classes")).order_by("region_path", "name", "pk")
    page = Paginator(schools, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "edu/school_list.html",
        {
            "page": page,
            "regions": regions.filter(level__gt=1) if not request.user.is_superuser else regions,
            "region": region,
            "query": query,
            "level": level,
            "levels": School.Level.choices,
        },
    )


@login_required
def school_detail(request: HttpRequest, code: str) -> HttpResponse:
    school = selectors.school_for_user(user=request.user, code=code)
    is_staff_view = request.user.is_superuser or request.user.is_organiser or request.user.is_teacher
    classes = selectors.classes_with_roster_counts(school=school)
    can_admin = selectors.can_manage_school(user=request.user, school=school)
    return render(
        request,
        "edu/school_detail.html",
        {
            "school": school,
            "classes": classes if is_staff_view else None,
            "can_manage": selectors.teaches_at(user=request.user, school_id=school.pk),
            "can_admin": can_admin,
            # The second-classroom terms the school is invited to or enrolled in, with their checklists.
            "school_terms": school_terms(school=school) if is_staff_view else [],
        },
    )


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    school_class = selectors.class_for_user(user=request.user, pk=pk)
    students = selectors.class_accounts_without_roster(school_class=school_class)
    can_manage = selectors.can_manage_class(user=request.user, school_class=school_class)
    # Real names are for the school's own staff; organisers see how many are on the roster and registered.
    roster = list(selectors.class_roster(school_class=school_class))
    return render(
        request,
        "edu/class_detail.html",
        {
            "school_class": school_class,
            "students": students,
            "roster": roster if can_manage else [],
            "roster_count": sum(1 for student in roster if student.graduated_on is None),
            "registered_count": sum(
                1 for student in roster if student.graduated_on is None and student.claimed_at is not None
            ),
            "teachers": list(school_class.teachers.order_by("first_name", "username")),
            "can_manage": can_manage,
            "can_admin": selectors.can_manage_school(user=request.user, school=school_class.school),
            "join_url": request.build_absolute_uri(f"/accounts/signup/?code={school_class.join_code}"),
            # The second-classroom terms the class takes part in: figures, and for teachers who is missing.
            "term_sections": class_term_sections(school_class=school_class),
        },
    )


@login_required
@require_POST
def class_join_code_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    school_class = selectors.class_for_user(user=request.user, pk=pk, manage=True)
    services.class_join_code_regenerate(school_class=school_class)
    messages.success(request, _("A new join code is ready; the old one no longer works."))
    return redirect("class_detail", pk=pk)


@login_required
@require_POST
def class_join_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    school_class = selectors.class_for_user(user=request.user, pk=pk, manage=True)
    enabled = request.POST.get("enabled") == "1"
    services.class_join_toggle(school_class=school_class, enabled=enabled)
    messages.success(
        request,
        _("Students can join with the code.") if enabled else _("Joining with the code is switched off."),
    )
    return redirect("class_detail", pk=pk)


@login_required
def class_join(request: HttpRequest) -> HttpResponse:
    """A signed-in user enters a class code (students who signed up without one)."""
    form = JoinClassForm(request.POST or None, initial={"join_code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        school_class = form.cleaned_data["join_code"]
        try:
            services.student_join_class(user=request.user, school_class=school_class)
        except services.AlreadyInClass:
            form.add_error("join_code", _("You are already in a class. Ask your teacher to move you."))
        else:
            messages.success(request, _("Welcome to %(klass)s!") % {"klass": school_class})
            return redirect("home")
    return render(request, "edu/class_join.html", {"form": form})


class StudentSignupView(SignupView):
    """allauth's sign-up, with the class code filled in from a join link or QR code (?code=…)."""

    def get_initial(self):
        initial = super().get_initial()
        code = self.request.GET.get("code", "").strip()
        if code:
            initial["join_code"] = code[:16]
        return initial


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A translated page instead of Django's English one when a form's CSRF token has expired."""
    return render(request, "403_csrf.html", status=403)

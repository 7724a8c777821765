"""Writes of campaigns."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Enrollment, Term
from edu.models import School, User


def campaign_save(*, campaign: Campaign, organisers, editor: User) -> Campaign:
    """Create or update a campaign; whoever creates it is one of its organisers."""
    with transaction.atomic():
        if campaign.pk is None:
            campaign.created_by = editor
        campaign.save()
        members = set(organisers)
        if editor.is_organiser:
            members.add(editor)
        campaign.organisers.set(members)
    return campaign


# --- second-classroom terms and enrollment ----------------------------------------------------------------


class EnrollmentError(Exception):
    """An enrollment change that cannot be made; the message is translated."""


def term_create(
    *,
    campaign: Campaign,
    grades: list[int],
    target_registration_pct: int,
    target_participation_pct: int,
    pass_mark_pct: int = 60,
    by: User,
) -> Term:
    """A new second-classroom term: its campaign (unsaved, with title, region and dates) and its targets."""
    with transaction.atomic():
        campaign.kind = Campaign.Kind.SECOND_CLASSROOM
        campaign.created_by = by
        campaign.save()
        if by.is_organiser:
            campaign.organisers.add(by)
        return Term.objects.create(
            campaign=campaign,
            grades=sorted(set(grades)),
            target_registration_pct=target_registration_pct,
            target_participation_pct=target_participation_pct,
            pass_mark_pct=pass_mark_pct,
        )


def term_update(
    *,
    campaign: Campaign,
    grades: list[int],
    target_registration_pct: int,
    target_participation_pct: int,
    pass_mark_pct: int,
    by: User,
) -> Term:
    """Save the campaign and its term; a second-classroom campaign made on the campaign form gets its term."""
    with transaction.atomic():
        campaign.kind = Campaign.Kind.SECOND_CLASSROOM
        campaign.save()
        if by.is_organiser:
            campaign.organisers.add(by)
        term, _created = Term.objects.update_or_create(
            campaign=campaign,
            defaults={
                "grades": sorted(set(grades)),
                "target_registration_pct": target_registration_pct,
                "target_participation_pct": target_participation_pct,
                "pass_mark_pct": pass_mark_pct,
            },
        )
    return term


def enrollment_invite(*, term: Term, school: School, by: User, now: datetime) -> Enrollment:
    """Invite the school; a school that declined is invited again, an invited or enrolled one stays so."""
    with transaction.atomic():
        enrollment, created = Enrollment.objects.get_or_create(
            term=term,
            school=school,
            defaults={"status": Enrollment.Status.INVITED, "invited_by": by, "invited_at": now},
        )
        if not created and Enrollment.objects.filter(
            pk=enrollment.pk, status=Enrollment.Status.DECLINED
        ).update(
            status=Enrollment.Status.INVITED, invited_by=by, invited_at=now, decided_by=None, decided_at=None
        ):
            enrollment.refresh_from_db()
    return enrollment


def enrollment_enroll(*, term: Term, school: School, by: User, now: datetime) -> Enrollment:
    """Enroll the school directly, as an anti-drug office may; an invitation becomes an enrollment."""
    with transaction.atomic():
        enrollment, created = Enrollment.objects.get_or_create(
            term=term,
            school=school,
            defaults={
                "status": Enrollment.Status.ENROLLED,
                "invited_by": by,
                "invited_at": now,
                "decided_by": by,
                "decided_at": now,
            },
        )
        if not created and Enrollment.objects.filter(pk=enrollment.pk).exclude(
            status=Enrollment.Status.ENROLLED
        ).update(status=Enrollment.Status.ENROLLED, decided_by=by, decided_at=now):
            enrollment.refresh_from_db()
        _progress_rows(term=term, school=school)
    return enrollment


def _progress_rows(*, term: Term, school: School) -> None:
    """An enrolled school's roster students count in the term's figures from the start."""
    from campaigns.lessons import progress_ensure_for_school

    progress_ensure_for_school(term=term, school=school)


def enrollment_decide(*, enrollment: Enrollment, accept: bool, by: User, now: datetime) -> Enrollment:
    """The school's answer: an invitation may be accepted or declined, a declined one accepted after all.
    A direct enrollment by the organiser is not the school's to decline."""
    allowed = (
        [Enrollment.Status.INVITED, Enrollment.Status.DECLINED] if accept else [Enrollment.Status.INVITED]
    )
    status = Enrollment.Status.ENROLLED if accept else Enrollment.Status.DECLINED
    with transaction.atomic():
        changed = Enrollment.objects.filter(pk=enrollment.pk, status__in=allowed).update(
            status=status, decided_by=by, decided_at=now
        )
        enrollment.refresh_from_db()
        if changed and accept:
            _progress_rows(term=enrollment.term, school=enrollment.school)
    if not changed and enrollment.status != status:
        raise EnrollmentError(
            _("The school is enrolled in this term by the organiser and cannot decline it here.")
        )
    return enrollment

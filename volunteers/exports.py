"""Hour records as spreadsheets, with the fields the Measures for Recording Volunteer Service name: the
volunteer's own export and the organiser's, from one table so that both say the same thing."""

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from edu.models import User
from edu.tabular import write_csv, write_xlsx
from volunteers.certificates import hours_text
from volunteers.models import HourRecord

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def user_label(user: User | None) -> str:
    """How an organiser, recorder or approver is named in records and exports."""
    if user is None:
        return ""
    return user.get_full_name() or user.nickname or user.username


def status_label(record: HourRecord) -> str:
    if record.status == HourRecord.Status.APPROVED and getattr(record, "superseded", False):
        return _("approved, then corrected")
    if record.status == HourRecord.Status.REJECTED and record.reject_reason:
        return _("rejected: %(reason)s") % {"reason": record.reject_reason}
    return str(record.get_status_display())


def measures_table(records: QuerySet[HourRecord], *, decisions: bool) -> tuple[list[str], list[list]]:
    """Name, volunteer number, activity, date, place, content, hours, organiser, recorder and status; with
    `decisions`, who decided and when. `records` should select the activity, the volunteer and the users, and
    prefetch the activity's organisers."""
    header = [
        _("Name"),
        _("Volunteer number"),
        _("Activity"),
        _("Date"),
        _("Place"),
        _("Service content"),
        _("Hours"),
        _("Organiser"),
        _("Recorded by"),
        _("Status"),
    ]
    if decisions:
        header += [_("Decided by"), _("Decided at")]
    rows = []
    for record in records:
        volunteer = record.volunteer
        if record.recorded_by_id is None:
            recorder = _("automatic (missed check-out)")
        elif record.recorded_by_id == volunteer.user_id:
            recorder = volunteer.real_name
        else:
            recorder = user_label(record.recorded_by)
        row = [
            volunteer.real_name,
            volunteer.volunteer_number,
            record.activity.title,
            timezone.localtime(record.started_at).date(),
            record.place or record.activity.address,
            record.content,
            float(hours_text(record.minutes)),
            "、".join(user_label(user) for user in record.activity.organisers.all()),
            recorder,
            status_label(record),
        ]
        if decisions:
            decided_at = record.decided_at
            row += [
                user_label(record.decided_by),
                timezone.localtime(decided_at).strftime("%Y-%m-%d %H:%M") if decided_at else "",
            ]
        rows.append(row)
    return header, rows


def spreadsheet_response(header: list[str], rows: list[list], *, stem: str, file_format: str) -> HttpResponse:
    """An .xlsx download, or CSV (UTF-8 with a BOM, for Excel) when `file_format` is "csv"."""
    if file_format == "csv":
        response = HttpResponse(write_csv(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    else:
        response = HttpResponse(write_xlsx(header, rows, sheet_title="hours"), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response

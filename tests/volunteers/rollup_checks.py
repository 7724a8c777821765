"""The hour rollups, as stored and as counted straight from the records (shared by the selector tests and the
generate_scale tests)."""

from django.db.models import Count, Sum

from volunteers.models import (
    ActivityHourTotal,
    CampaignHourTotal,
    HourRecord,
    RegionHourTotal,
    SchoolHourTotal,
    TeamHourTotal,
)


def direct_rollups() -> dict[str, dict[int, tuple[int, int, int]]]:
    """Every rollup counted straight from the records: {scope: {key: (minutes, records, volunteers)}}."""
    counting = HourRecord.objects.counting()

    def grouped(records, key: str) -> dict[int, tuple[int, int, int]]:
        rows = records.values(key).annotate(
            m=Sum("minutes"), n=Count("pk"), v=Count("volunteer", distinct=True)
        )
        return {row[key]: (row["m"], row["n"], row["v"]) for row in rows if row[key] is not None}

    return {
        "region": grouped(counting, "volunteer__region"),
        "school": grouped(counting, "volunteer__school"),
        "team": grouped(
            counting.filter(volunteer__memberships__isnull=False), "volunteer__memberships__team"
        ),
        "activity": grouped(counting, "activity"),
        "campaign": grouped(counting, "activity__campaign"),
    }


def stored_rollups() -> dict[str, dict[int, tuple[int, int, int]]]:
    """The rollup rows the services keep (rows moved back to zero left out)."""
    models = {
        "region": (RegionHourTotal, "region_id"),
        "school": (SchoolHourTotal, "school_id"),
        "team": (TeamHourTotal, "team_id"),
        "activity": (ActivityHourTotal, "activity_id"),
        "campaign": (CampaignHourTotal, "campaign_id"),
    }
    return {
        scope: {
            getattr(row, key): (row.minutes, row.records, row.volunteers)
            for row in model.objects.all()
            if row.minutes or row.records or row.volunteers
        }
        for scope, (model, key) in models.items()
    }

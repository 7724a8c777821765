"""The hour rollups recomputed from the records, in SQL: once after a migration or a bulk load
(generate_scale), and as a repair tool (`manage.py rebuild_volunteer_rollups`).

The services keep the same rows with F() in the approving transaction (volunteers/services.py); this is the
direct count they must agree with. The counting records (approved, not superseded by an approved correction)
are gathered once into a temporary table, then summed per volunteer (VolunteerProfile.approved_minutes), per
region of registration (RegionHourTotal), school, team, activity and campaign.

On PostgreSQL the rebuild locks the memberships, the profiles and the rollup tables against writes (reads go
on) for its duration: an approval or a membership change waiting on the lock applies its F() increments to
the rebuilt rows once the rebuild commits, so nothing is lost or counted twice.
"""

# ruff: noqa: S608 - the SQL names only our own tables; every value is a parameter.
from collections import Counter

from django.db import connection, transaction

from campaigns.models import Campaign
from edu.models import Region, School
from edu.selectors import LIKE, like_prefix
from volunteers.models import (
    Activity,
    ActivityHourTotal,
    CampaignHourTotal,
    HourRecord,
    RegionHourTotal,
    SchoolHourTotal,
    Team,
    TeamHourTotal,
    TeamMembership,
    VolunteerProfile,
)

COUNTED = "qk_counted_hours"


def counting_condition(alias: str) -> str:
    """Raw SQL for HourRecord.objects.counting() on the hour record `alias`: approved, and not superseded by
    an approved correction."""
    return (
        f"{alias}.status = 'approved' AND NOT EXISTS "
        f"(SELECT 1 FROM {_table(HourRecord)} correction WHERE correction.corrects_id = {alias}.id "
        "AND correction.status = 'approved')"
    )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def rollups_rebuild(*, region_path: str = "") -> Counter:
    """Recompute every hour rollup under `region_path` (all of them by default) from the records.

    Returns the rows written per table, and under "approved_minutes fixed" the volunteers whose
    approved_minutes disagreed with their records (0 when the services kept them right).
    """
    prefix = like_prefix(region_path)
    profile, record, membership = _table(VolunteerProfile), _table(HourRecord), _table(TeamMembership)
    region, school, team = _table(Region), _table(School), _table(Team)
    activity, campaign = _table(Activity), _table(Campaign)
    written: Counter = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rollup_tables = ", ".join(
                _table(model)
                for model in (
                    RegionHourTotal,
                    SchoolHourTotal,
                    TeamHourTotal,
                    ActivityHourTotal,
                    CampaignHourTotal,
                )
            )
            # Memberships and profiles first: the services write them before the rollups (no deadlock).
            cursor.execute(f"LOCK TABLE {membership}, {profile}, {rollup_tables} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DROP TABLE IF EXISTS {COUNTED}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {COUNTED} AS "
            f"SELECT h.id, h.volunteer_id, h.activity_id, h.minutes FROM {record} h "
            f"WHERE {counting_condition('h')}"
        )
        # A failure rolls the temporary table back with the rest (DDL is transactional on both).
        cursor.execute(f"CREATE INDEX {COUNTED}_volunteer ON {COUNTED} (volunteer_id)")
        cursor.execute(f"ANALYZE {COUNTED}")
        per_volunteer = f"SELECT volunteer_id, SUM(minutes) AS minutes FROM {COUNTED} GROUP BY volunteer_id"
        cursor.execute(
            f"UPDATE {profile} SET approved_minutes = COALESCE(t.minutes, 0) "
            f"FROM {profile} p LEFT JOIN ({per_volunteer}) t ON t.volunteer_id = p.id "
            f"WHERE {profile}.id = p.id AND p.region_path {LIKE} "
            f"AND p.approved_minutes <> COALESCE(t.minutes, 0)",
            [prefix],
        )
        written["approved_minutes fixed"] = max(cursor.rowcount, 0)
        rebuilds = [
            (
                RegionHourTotal,
                "region_id, region_path",
                f"SELECT p.region_id, p.region_path, SUM(k.minutes), COUNT(*), "
                f"COUNT(DISTINCT k.volunteer_id) FROM {COUNTED} k JOIN {profile} p "
                f"ON p.id = k.volunteer_id WHERE p.region_path {LIKE} GROUP BY p.region_id, p.region_path",
            ),
            (
                SchoolHourTotal,
                "school_id, region_path",
                f"SELECT s.id, s.region_path, SUM(k.minutes), COUNT(*), COUNT(DISTINCT k.volunteer_id) "
                f"FROM {COUNTED} k JOIN {profile} p ON p.id = k.volunteer_id "
                f"JOIN {school} s ON s.id = p.school_id WHERE s.region_path {LIKE} "
                f"GROUP BY s.id, s.region_path",
            ),
            (
                TeamHourTotal,
                "team_id, region_path",
                f"SELECT t.id, t.region_path, SUM(k.minutes), COUNT(*), COUNT(DISTINCT k.volunteer_id) "
                f"FROM {COUNTED} k JOIN {membership} m ON m.volunteer_id = k.volunteer_id "
                f"JOIN {team} t ON t.id = m.team_id WHERE t.region_path {LIKE} "
                f"GROUP BY t.id, t.region_path",
            ),
            (
                ActivityHourTotal,
                "activity_id, campaign_id, region_path",
                f"SELECT a.id, a.campaign_id, a.region_path, SUM(k.minutes), COUNT(*), "
                f"COUNT(DISTINCT k.volunteer_id) FROM {COUNTED} k JOIN {activity} a "
                f"ON a.id = k.activity_id WHERE a.region_path {LIKE} "
                f"GROUP BY a.id, a.campaign_id, a.region_path",
            ),
            (
                CampaignHourTotal,
                "campaign_id, region_path",
                f"SELECT c.id, r.path, SUM(k.minutes), COUNT(*), COUNT(DISTINCT k.volunteer_id) "
                f"FROM {COUNTED} k JOIN {activity} a ON a.id = k.activity_id "
                f"JOIN {campaign} c ON c.id = a.campaign_id JOIN {region} r ON r.id = c.region_id "
                f"WHERE r.path {LIKE} GROUP BY c.id, r.path",
            ),
        ]
        for model, columns, select in rebuilds:
            table = _table(model)
            cursor.execute(f"DELETE FROM {table} WHERE region_path {LIKE}", [prefix])
            cursor.execute(
                f"INSERT INTO {table} ({columns}, minutes, records, volunteers) {select}",
                [prefix],
            )
            written[model._meta.db_table] = max(cursor.rowcount, 0)
        cursor.execute(f"DROP TABLE {COUNTED}")
    return written

"""The core's parts of the generated province: the region tree and the schools."""

import math
from collections import Counter
from dataclasses import dataclass

from edu.models import Region, School
from edu.scale import (
    GENERATED_CODE_PREFIX,
    PROVINCE_CODE,
    PROVINCE_PATH,
    Context,
    Part,
    Table,
    delete_where,
    register,
    weighted_split,
)
from edu.scale import names as N
from edu.selectors import LIKE, like_prefix


@dataclass(frozen=True)
class CountyKind:
    code_start: int
    suffix: str
    suffix_en: str


DISTRICT = CountyKind(2, "区", "District")
COUNTY = CountyKind(21, "县", "County")
COUNTY_CITY = CountyKind(81, "市", "City")

CN_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 25 → 二十五, 103 → 一百零三 (school ordinals)."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    return (
        CN_DIGITS[n // 100] + "百" + ("" if not rest else ("零" if rest < 10 else "") + chinese_number(rest))
    )


def in_province(field: str) -> tuple[str, list[str]]:
    return f"{field} {LIKE}", [like_prefix(PROVINCE_PATH)]


@register
class RegionsPart(Part):
    """云梦省 (code 960000): ~14 cities and ~122 counties and districts with real-looking division codes."""

    name = "regions"
    order = 10

    def models(self):
        return [Region]

    def existing(self) -> dict[str, int]:
        count = Region.objects.filter(path__startswith=PROVINCE_PATH).count()
        return {Region._meta.db_table: count} if count else {}

    def delete(self) -> Counter:
        deleted: Counter = Counter()
        where, params = in_province("path")
        delete_where(Region, where, params, deleted)
        return deleted

    def generate(self, ctx: Context) -> None:
        rng = ctx.rng(self.name)
        figures = ctx.figures
        cities = min(figures.cities, len(N.CITIES))
        # The capital has the most districts; the rest share the counties about evenly.
        per_city = weighted_split(figures.counties, [1.4] + [1.0] * (cities - 1))
        place_names = self._place_names(rng, figures.counties)
        rows = []
        ids = iter(ctx.reserve_ids(Region, 1 + cities + figures.counties))
        province_id = next(ids)
        rows.append((province_id, PROVINCE_CODE, *N.PROVINCE, 1, None, PROVINCE_PATH))
        progress = ctx.progress("regions", 1 + cities + figures.counties)
        progress.advance()
        for index in range(cities):
            prefecture = figures.cities == 14 and index == 13
            city_code = f"{GENERATED_CODE_PREFIX}{31 if prefecture else index + 1:02d}00"
            city_name, city_en = N.CITIES[index]
            if prefecture:
                city_name, city_en = (
                    f"{city_name}土家族苗族自治州",
                    f"{city_en} Tujia and Miao Autonomous Prefecture",
                )
            else:
                city_name += "市"
            city_id = next(ids)
            city_path = f"{PROVINCE_PATH}{city_code}/"
            rows.append((city_id, city_code, city_name, city_en, 2, province_id, city_path))
            progress.advance()
            for county_code, county_name, county_en in self._counties(
                city_code, per_city[index], place_names, capital=index == 0, prefecture=prefecture
            ):
                rows.append(
                    (next(ids), county_code, county_name, county_en, 3, city_id, f"{city_path}{county_code}/")
                )
                progress.advance()
        ctx.write(Table(Region, ["id", "code", "name", "name_en", "level", "parent_id", "path"]), rows)
        progress.finish()

    @staticmethod
    def _place_names(rng, count: int) -> list[tuple[str, str]]:
        taken = {name for name, _ in N.CITIES}
        return [pair for pair in N.place_names(rng) if pair[0] not in taken][:count]

    @staticmethod
    def _counties(city_code: str, count: int, place_names: list, *, capital: bool, prefecture: bool):
        """Districts first (02, 03, ...), then counties (21, ...), then a county-level city (81)."""
        if prefecture:
            kinds = [COUNTY_CITY] + [COUNTY] * (count - 1)
        else:
            districts = min(count, 6 if capital else 2 if count > 4 else 1)
            cities = 1 if count - districts >= 3 else 0
            kinds = [DISTRICT] * districts + [COUNTY] * (count - districts - cities) + [COUNTY_CITY] * cities
        used: Counter = Counter()
        for kind in kinds:
            if prefecture and kind is COUNTY_CITY:
                number = 1
            else:
                number = kind.code_start + used[kind] + (1 if prefecture and kind is COUNTY else 0)
            used[kind] += 1
            name, name_en = place_names.pop()
            yield f"{city_code[:4]}{number:02d}", name + kind.suffix, f"{name_en} {kind.suffix_en}"


# --- schools --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelPlan:
    level: str
    share: float  # of the province's schools
    mean_headcount: int
    spread: float  # sigma of the log-normal headcount


LEVELS = [
    LevelPlan(School.Level.PRIMARY, 0.615, 330, 0.75),
    LevelPlan(School.Level.JUNIOR, 0.285, 560, 0.6),
    LevelPlan(School.Level.SENIOR, 0.055, 1800, 0.45),
    LevelPlan(School.Level.VOCATIONAL, 0.035, 1000, 0.5),
    LevelPlan(School.Level.UNIVERSITY, 0.010, 7000, 0.6),
]
DEMONSTRATION_SHARES = [
    (School.Demonstration.PROVINCIAL, 0.015),
    (School.Demonstration.CITY, 0.05),
    (School.Demonstration.DISTRICT, 0.12),
]
SCHOOL_CODE_PREFIX = f"31{GENERATED_CODE_PREFIX}"  # national school ids: 31 + province + sequence


@register
class SchoolsPart(Part):
    """11,186 schools over the counties, by level, their headcounts summing to the province's 5.29 million."""

    name = "schools"
    order = 20
    requires = ("regions",)

    def models(self):
        return [School]

    def existing(self) -> dict[str, int]:
        count = School.objects.filter(region_path__startswith=PROVINCE_PATH).count()
        return {School._meta.db_table: count} if count else {}

    def delete(self) -> Counter:
        deleted: Counter = Counter()
        where, params = in_province("region_path")
        delete_where(School, where, params, deleted)
        return deleted

    def generate(self, ctx: Context) -> None:
        rng = ctx.rng(self.name)
        figures = ctx.figures
        counties = list(
            Region.objects.filter(path__startswith=PROVINCE_PATH, level=Region.Level.COUNTY)
            .select_related("parent")
            .order_by("path")
        )
        # People are unevenly spread: urban districts and some counties are much larger than others.
        weight = {
            county.pk: rng.lognormvariate(0, 0.5) * (1.6 if county.code[-2:] < "21" else 1.0)
            for county in counties
        }
        seats = [county for county in counties if county.code[-2:] in ("01", "02", "81")]
        capital_districts = [
            c for c in counties if c.parent.code == counties[0].parent.code and c.code[-2] == "0"
        ]

        counts = weighted_split(figures.schools, [plan.share for plan in LEVELS])
        planned = []  # (plan, county)
        for plan, count in zip(LEVELS, counts, strict=True):
            if plan.level == School.Level.UNIVERSITY:
                # Universities sit mostly in the capital's districts, the rest in the cities' seats.
                in_capital = round(count * 0.7)
                choices = rng.choices(capital_districts or counties, k=in_capital) + rng.choices(
                    seats or counties, k=count - in_capital
                )
            else:
                choices = rng.choices(counties, weights=[weight[c.pk] for c in counties], k=count)
            planned.extend((plan, county) for county in choices)
        planned.sort(key=lambda item: (item[1].path, LEVELS.index(item[0])))

        raw = [
            rng.lognormvariate(math.log(plan.mean_headcount) - plan.spread**2 / 2, plan.spread)
            for plan, _ in planned
        ]
        factor = figures.students / sum(raw) if raw else 0
        headcounts = [max(20, round(value * factor)) for value in raw]

        ids = ctx.reserve_ids(School, len(planned))
        towns = {county.pk: N.place_names(rng)[:40] for county in counties}
        ordinal: Counter = Counter()
        rows = []
        progress = ctx.progress("schools", len(planned))
        for number, ((plan, county), headcount, pk) in enumerate(
            zip(planned, headcounts, ids, strict=True), 1
        ):
            ordinal[(county.pk, plan.level)] += 1
            name, name_en = self._school_name(
                plan.level, county, ordinal[(county.pk, plan.level)], towns[county.pk]
            )
            demonstration = School.Demonstration.NONE
            draw = rng.random()
            for value, share in DEMONSTRATION_SHARES:
                if draw < share * (2 if plan.level == School.Level.SENIOR else 1):
                    demonstration = value
                    break
                draw -= share
            city = county.parent
            address = f"{city.name}{county.name}{rng.choice(N.STREETS)}{rng.randint(1, 399)}号"
            rows.append(
                (
                    pk,
                    f"{SCHOOL_CODE_PREFIX}{number:06d}",
                    name,
                    name_en,
                    plan.level,
                    county.pk,
                    county.path,
                    headcount,
                    demonstration,
                    address,
                )
            )
            progress.advance()
        ctx.write(
            Table(
                School,
                [
                    "id",
                    "code",
                    "name",
                    "name_en",
                    "level",
                    "region_id",
                    "region_path",
                    "student_headcount",
                    "demonstration",
                    "address",
                ],
            ),
            rows,
        )
        progress.finish()

    @staticmethod
    def _school_name(level: str, county: Region, ordinal: int, towns: list) -> tuple[str, str]:
        """The county's numbered schools first, then the towns' central and village schools."""
        place, place_en = county.name[:-1], county.name_en.rsplit(" ", 1)[0]
        city_place = county.parent.name.removesuffix("市")[:2]
        city_en = county.parent.name_en.split(" ")[0]
        number = chinese_number(ordinal)
        if level == School.Level.PRIMARY:
            if ordinal == 1:
                return f"{county.name}实验小学", f"{place_en} Experimental Primary School"
            if ordinal <= 10:
                return f"{county.name}第{number}小学", f"{place_en} No. {ordinal} Primary School"
            town, town_en = towns[(ordinal - 11) // 5 % len(towns)]
            series = (ordinal - 11) // (5 * len(towns))
            if (ordinal - 11) % 5 == 0:
                campus = f"{chinese_number(series + 1)}校区" if series else ""
                return (
                    f"{county.name}{town}镇中心小学{campus}",
                    f"{town_en} Town Central Primary School" + (f", Campus {series + 1}" if series else ""),
                )
            village, village_en = N.COMMUNITIES[((ordinal - 11) % 5 + 4 * series) % len(N.COMMUNITIES)]
            return (
                f"{county.name}{town}镇{village}村小学",
                f"{town_en} Town {village_en} Village Primary School",
            )
        if level == School.Level.JUNIOR:
            if ordinal == 1:
                return f"{county.name}实验中学", f"{place_en} Experimental Middle School"
            if ordinal <= 8:
                return f"{county.name}第{number}初级中学", f"{place_en} No. {ordinal} Junior Middle School"
            town, town_en = towns[(ordinal - 9) % len(towns)]
            series = (ordinal - 9) // len(towns)
            return f"{county.name}{town}镇{'' if not series else chinese_number(series + 1)}中学", (
                f"{town_en} Town Middle School" + (f" No. {series + 1}" if series else "")
            )
        if level == School.Level.SENIOR:
            return f"{county.name}第{number}中学", f"{place_en} No. {ordinal} High School"
        if level == School.Level.VOCATIONAL:
            return f"{county.name}职业中等专业学校{'' if ordinal == 1 else number + '校区'}", (
                f"{place_en} Vocational Secondary School" + ("" if ordinal == 1 else f" Campus {ordinal}")
            )
        kinds = [
            ("学院", "University"),
            ("师范学院", "Normal University"),
            ("职业技术学院", "Vocational and Technical College"),
            ("医学高等专科学校", "Medical College"),
            ("理工学院", "Institute of Technology"),
            ("工商职业学院", "Business College"),
        ]
        kind, kind_en = kinds[(ordinal - 1) % len(kinds)]
        series = (ordinal - 1) // len(kinds)
        suffix = f"（{chinese_number(series + 1)}）" if series else ""
        suffix_en = f" ({series + 1})" if series else ""
        return f"{city_place}{place}{kind}{suffix}", f"{city_en} {place_en} {kind_en}{suffix_en}"

"""Seeds-scale data for benchmarks: a province as large as the one the project serves, built in named parts.

`python manage.py generate_scale` runs the registered parts in order (regions, schools, volunteers, ...).
Each part is a `Part` subclass registered with `@register`; a later issue adds its own part (students,
lessons, quiz attempts) in a module of this package or in an app's `scale.py`, which the command discovers
as `loaddemo` discovers `demo.py`. A part writes its rows through a `Sink`: PostgreSQL's COPY
(psycopg 3, on the Django connection's own psycopg connection, so in the same transaction) or, on SQLite
and for the tests' `--small` set, plain INSERTs of the same rows.

Everything generated is recognisable, so that `--reset` deletes exactly that and nothing else: the province's
division code starts with GENERATED_CODE_PREFIX (no real province uses it) and every generated user's
username starts with GENERATED_USERNAME_PREFIX. Whatever lies inside the generated province belongs to it.
"""

import datetime as dt
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from django.apps import apps
from django.db import connection, models

GENERATED_CODE_PREFIX = "96"
PROVINCE_CODE = "960000"
PROVINCE_PATH = f"{PROVINCE_CODE}/"
GENERATED_USERNAME_PREFIX = "qkgen_"
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")  # Asia/Shanghai has kept +08:00 all year since 1991


@dataclass(frozen=True)
class Figures:
    """How much to build. SEED_FIGURES are the seeds' province; `scaled` keeps the region tree whole."""

    cities: int
    counties: int
    schools: int
    students: int  # the schools' headcounts add up to this
    volunteers: int
    hour_records: int
    years: int = 5  # how far back the service history goes
    school_team_minimum: int = 50  # a school with this many volunteers has a team of them


SEED_FIGURES = Figures(
    cities=14, counties=122, schools=11_186, students=5_290_000, volunteers=2_530_000, hour_records=5_380_000
)
SMALL_FIGURES = Figures(
    cities=2,
    counties=5,
    schools=24,
    students=12_000,
    volunteers=300,
    hour_records=640,
    years=2,
    school_team_minimum=8,
)


def scaled_figures(scale: float) -> Figures:
    base = SEED_FIGURES
    return Figures(
        cities=base.cities,
        counties=base.counties,
        schools=max(base.counties, round(base.schools * scale)),
        students=max(base.counties * 100, round(base.students * scale)),
        volunteers=max(100, round(base.volunteers * scale)),
        hour_records=max(200, round(base.hour_records * scale)),
        years=base.years,
    )


# --- progress ---------------------------------------------------------------------------------------------


class Progress:
    """A one-line textual progress bar on stderr: done/total, per cent, rate and elapsed time.

    On a terminal the line is redrawn in place; elsewhere (a log file, CI) a line is printed every
    few seconds, so the output stays readable.
    """

    def __init__(self, stream: TextIO | None, label: str, total: int, unit: str = "rows") -> None:
        self.stream, self.label, self.total, self.unit = stream, label, max(total, 0), unit
        self.done = 0
        self.started = self.last_drawn = time.perf_counter()
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.interval = 0.25 if self.tty else 5.0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self.last_drawn >= self.interval:
            self.last_drawn = now
            self._draw(now, final=False)

    def finish(self) -> None:
        self._draw(time.perf_counter(), final=True)

    def _draw(self, now: float, *, final: bool) -> None:
        if self.stream is None:
            return
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = min(1.0, self.done / self.total) if self.total else 1.0
        width = 24
        filled = round(width * share)
        bar = "#" * filled + "." * (width - filled)
        line = (
            f"  {self.label:<28} [{bar}] {self.done:>11,}/{self.total:<11,} {100 * share:5.1f}% "
            f"{rate:>10,.0f} {self.unit}/s {elapsed:7.1f} s"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# --- sinks: where the rows go -------------------------------------------------------------------------------


class Sink:
    """Writes generated rows (tuples in the order of `columns`) into a model's table."""

    vendor = ""

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        raise NotImplementedError

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
        raise NotImplementedError


class CopySink(Sink):
    """PostgreSQL: `COPY table (columns) FROM STDIN` on the Django connection's psycopg connection."""

    vendor = "postgresql"

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        # The ids come from the table's own sequence, one nextval each: no lock, and an insert by the site
        # running meanwhile can never collide with them.
        if count <= 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
        from psycopg import sql

        connection.ensure_connection()
        raw = connection.connection  # psycopg 3: the same connection, so the same transaction
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        written = 0
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        return written


class InsertSink(Sink):
    """Any other database (SQLite for `--small`): the same rows as batched INSERTs."""

    vendor = "other"
    batch = 500

    def __init__(self) -> None:
        self._issued: dict[str, int] = {}

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        # Run inside the part's transaction, which on SQLite holds the database's write lock.
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        key = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {table}")  # noqa: S608 - names from _meta
            first = max(cursor.fetchone()[0], self._issued.get(key, 0)) + 1
        self._issued[key] = first + count - 1
        return list(range(first, first + count))

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
        quote = connection.ops.quote_name
        statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from _meta
            quote(model._meta.db_table), ", ".join(map(quote, columns)), ", ".join(["%s"] * len(columns))
        )
        written = 0
        batch: list[tuple] = []
        with connection.cursor() as cursor:
            for row in rows:
                batch.append(tuple(self._adapt(value) for value in row))
                if len(batch) >= self.batch:
                    cursor.executemany(statement, batch)
                    written += len(batch)
                    batch = []
            if batch:
                cursor.executemany(statement, batch)
                written += len(batch)
        return written

    @staticmethod
    def _adapt(value):
        if isinstance(value, dt.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return connection.ops.adapt_datefield_value(value)
        return value


class Table:
    """A model's table as the generator fills it: the columns given by each row, then constants for the rest.

    Rows carry only the fields the generator decides (by attname, e.g. "region_id"); every other concrete
    field gets its default, NULL or "" (blank text). A field with neither, or with a per-row default such
    as a random token, must be given: the table refuses to be built otherwise, so a field added to a model
    later is never silently left out.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in fields if name not in by_attname]
        if unknown:
            raise ValueError(f"{model._meta.label} has no field {', '.join(unknown)}")
        self.columns = [by_attname[name].column for name in fields]
        extra = []
        for f in model._meta.concrete_fields:
            if f.attname in fields or (
                f.primary_key and isinstance(f, models.AutoField | models.BigAutoField)
            ):
                continue  # given, or an id the database assigns
            value = self._constant(f)
            extra.append(value)
            self.columns.append(f.column)
        self.extra = tuple(extra)

    @staticmethod
    def _constant(f: models.Field):
        if f.has_default():
            value = f.get_default()
            if callable(f.default) and not isinstance(value, list | dict):
                raise ValueError(
                    f"{f.model._meta.label}.{f.name} has a per-row default ({f.default.__name__}): "
                    f"the generator must give it"
                )
            return json.dumps(value) if isinstance(f, models.JSONField) else value
        if f.null:
            return None
        if isinstance(f, models.CharField | models.TextField | models.FileField) and f.blank:
            return ""
        raise ValueError(f"{f.model._meta.label}.{f.name} has no default: the generator must give it")

    def complete(self, rows: Iterable[tuple]) -> Iterable[tuple]:
        if not self.extra:
            return rows
        extra = self.extra
        return (row + extra for row in rows)


def sink_for_connection() -> Sink:
    return CopySink() if connection.vendor == "postgresql" else InsertSink()


def json_list(values: Sequence[str]) -> str:
    """A JSONField value as COPY and INSERT both take it: its JSON text."""
    return json.dumps(list(values), ensure_ascii=False)


# --- the run's context and the parts ------------------------------------------------------------------------


@dataclass
class Context:
    figures: Figures
    seed: int
    sink: Sink
    now: dt.datetime
    progress_stream: TextIO | None = None
    small: bool = False
    rows: Counter = field(default_factory=Counter)  # table → rows written by the part running
    write_seconds: Counter = field(default_factory=Counter)  # table → seconds spent writing its rows

    def rng(self, part: str) -> random.Random:
        """One random stream per part, so a part's data depend only on the seed, not on what ran before."""
        return random.Random(f"{self.seed}:{part}")

    def progress(self, label: str, total: int, unit: str = "rows") -> Progress:
        return Progress(self.progress_stream, label, total, unit)

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        return self.sink.reserve_ids(model, count)

    def write(self, table: Table, rows: Iterable[tuple]) -> int:
        started = time.perf_counter()
        written = self.sink.write(table.model, table.columns, table.complete(rows))
        self.rows[table.model._meta.db_table] += written
        self.write_seconds[table.model._meta.db_table] += time.perf_counter() - started
        return written


class Part:
    """One named piece of the generated set.

    `generate` writes the rows (inside one transaction the command opens), `existing` counts the generated
    rows already there (empty: nothing), `delete` removes exactly what `generate` made, and `models` lists
    the tables to ANALYZE afterwards. `requires` names the parts whose rows this one builds on.
    """

    name: str = ""
    order: int = 0
    requires: tuple[str, ...] = ()

    def generate(self, ctx: Context) -> None:
        raise NotImplementedError

    def existing(self) -> dict[str, int]:
        raise NotImplementedError

    def delete(self) -> Counter:
        raise NotImplementedError

    def models(self) -> list[type[models.Model]]:
        raise NotImplementedError


_PARTS: dict[str, Part] = {}


def register(part_class: type[Part]) -> type[Part]:
    _PARTS[part_class.name] = part_class()
    return part_class


def registered_parts() -> list[Part]:
    from edu.scale import classroom, regions, stats, volunteers  # noqa: F401 - the core's parts register themselves

    return sorted(_PARTS.values(), key=lambda part: part.order)


def dependents(name: str) -> list[Part]:
    """Every registered part that builds on `name`, directly or not (itself included), in order."""
    parts = registered_parts()
    found = {name}
    for part in parts:
        if found.intersection(part.requires):
            found.add(part.name)
    return [part for part in parts if part.name in found]


# --- deleting what was generated ------------------------------------------------------------------------


def _references_to(model: type[models.Model]) -> list[tuple[type[models.Model], models.Field]]:
    found = []
    tables = set(connection.introspection.table_names())  # a model not migrated yet holds no rows
    for candidate in apps.get_models(include_auto_created=True):
        if candidate._meta.db_table not in tables:
            continue
        for fk in candidate._meta.local_fields:
            if fk.is_relation and fk.remote_field and fk.remote_field.model is model and fk.concrete:
                found.append((candidate, fk))
    return found


def delete_where(model: type[models.Model], where: str, params: Sequence, deleted: Counter) -> None:
    """DELETE model's rows matching `where` (SQL on its table), and first every row pointing at them.

    A database-level cascade that follows the foreign keys Django declares: rows that point at a deleted
    row through a nullable SET_NULL key are detached, all others deleted first, recursively. Unlike
    QuerySet.delete() it never loads a row into Python, which matters for millions of rows.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    detach = []
    for referrer, fk in _references_to(model):
        if referrer is model:
            continue  # a self-reference is deleted by the same statement
        target = f"SELECT {quote(fk.target_field.column)} FROM {table} WHERE {where}"  # noqa: S608
        condition = f"{quote(fk.column)} IN ({target})"
        if fk.null and fk.remote_field.on_delete in (models.SET_NULL, models.SET_DEFAULT, models.DO_NOTHING):
            detach.append((referrer, fk, condition))
        else:
            delete_where(referrer, condition, params, deleted)
    with connection.cursor() as cursor:
        for referrer, fk, condition in detach:
            cursor.execute(
                f"UPDATE {quote(referrer._meta.db_table)} SET {quote(fk.column)} = NULL "  # noqa: S608
                f"WHERE {condition}",
                params,
            )
        cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608
        if cursor.rowcount:
            deleted[model._meta.db_table] += cursor.rowcount


def analyze(tables: Iterable[str]) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a vacuumed visibility map) for the tables written."""
    quote = connection.ops.quote_name
    # VACUUM cannot run inside a transaction (a test's, or a caller's atomic block): ANALYZE alone there.
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        for table in sorted(set(tables)):
            cursor.execute(f"{'VACUUM (ANALYZE)' if vacuum else 'ANALYZE'} {quote(table)}")


def database_size() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]


# --- small shared helpers -------------------------------------------------------------------------------


def weighted_split(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to weights, summing exactly to total (largest remainders)."""
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1.0] * len(weights), float(len(weights))
    shares = [total * weight / whole for weight in weights]
    counts = [math.floor(share) for share in shares]
    remainder = total - sum(counts)
    by_fraction = sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_fraction[:remainder]:
        counts[i] += 1
    return counts


def seconds_label(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

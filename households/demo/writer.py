"""Bulk writing of the demo's rows, with their creation history rows."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, models

HISTORY_REASON = "生成演示数据"

PLAIN_FIELDS = (models.CharField, models.TextField, models.BooleanField, models.IntegerField, models.DecimalField,
          models.DateField, models.ForeignKey)  # fmt: skip


@dataclass(frozen=True)
class TablePlan:
    table: str
    columns: list[str]
    defaults: dict  # attname -> value, for the columns a row may leave out
    required: frozenset  # attnames every row must give
    values: Callable  # row dict -> tuple in column order
    converters: tuple  # (position, function) for values the driver cannot take as they are


class Writer:
    """Inserts rows given as dicts of attnames, with their ids handed out beforehand.

    PostgreSQL: ids from the table's sequence, rows by ``COPY``; SQLite: ids after the table's
    highest, rows by ``executemany``. (``bulk_create`` + ``bulk_history_create`` + a
    ``bulk_update`` of the heads took 2–3 times as long: model instances, ``get_db_prep_save`` on
    every value, a CASE per head; ids given out first also let the head be set in one pass.) The
    columns come from the models, and a column a row leaves out takes its field's default, so a
    new field with a default needs no change here. With ``history``, each row also gets its
    creation row ("+") in its simple-history table.
    """

    def __init__(self, *, history: bool, when: dt.datetime, reason: str = HISTORY_REASON):
        self.vendor = connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"demo data is written for PostgreSQL and SQLite, not {self.vendor}")
        self.history = history
        self.when = when
        self.reason = reason
        self.history_rows = 0
        self._plans: dict[type, TablePlan] = {}
        self._sequences: dict[type, str] = {}

    def reserve_ids(self, model, count: int) -> list[int]:
        if count == 0:
            return []
        table, pk = model._meta.db_table, model._meta.pk.column
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                if model not in self._sequences:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
                    self._sequences[model] = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT array_agg(v) FROM (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) s",
                    [self._sequences[model], count],
                )
                return cursor.fetchone()[0]
            qn = connection.ops.quote_name
            cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")  # noqa: S608
            top = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
            return list(range(top + 1, top + 1 + count))

    def _plan(self, model) -> TablePlan:
        """A history table's own key (``history_id``) is left to the database."""
        plan = self._plans.get(model)
        if plan is not None:
            return plan
        columns, attnames, defaults, required, converters = [], [], {}, set(), []
        for f in model._meta.concrete_fields:
            if f.primary_key and f.attname == "history_id":
                continue
            columns.append(f.column)
            attnames.append(f.attname)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                defaults[f.attname] = self.when
            elif f.primary_key:
                required.add(f.attname)
            elif f.has_default() or f.null or f.empty_strings_allowed:
                defaults[f.attname] = f.get_default()  # "" for a text field without a default
            else:
                required.add(f.attname)
            convert = self._converter(f)
            if convert is not None:
                converters.append((len(columns) - 1, convert))
        getter = operator.itemgetter(*attnames)
        plan = TablePlan(
            table=model._meta.db_table,
            columns=columns,
            defaults=defaults,
            required=frozenset(required),
            values=getter if len(attnames) > 1 else (lambda row: (getter(row),)),
            converters=tuple(converters),
        )
        self._plans[model] = plan
        return plan

    def _converter(self, f):
        if isinstance(f, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value if self.vendor == "sqlite" else None
        if isinstance(f, PLAIN_FIELDS):
            return None  # psycopg and Django's sqlite3 adapters take str, int, bool, Decimal, date
        return lambda value: f.get_db_prep_save(value, connection)

    def _write(self, model, rows: list[dict]) -> list[dict]:
        """Insert; return the rows completed with their defaults."""
        plan = self._plan(model)
        full = []
        for row in rows:
            if not plan.required <= row.keys():
                missing = ", ".join(sorted(plan.required - row.keys()))
                raise KeyError(f"{model.__name__}: no value for {missing}")
            full.append({**plan.defaults, **row})
        tuples = list(map(plan.values, full))
        if plan.converters:
            for i, values in enumerate(tuples):
                values = list(values)
                for pos, convert in plan.converters:
                    if values[pos] is not None:
                        values[pos] = convert(values[pos])
                tuples[i] = tuple(values)
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in plan.columns)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {qn(plan.table)} ({cols}) FROM STDIN") as copy:
                    for values in tuples:
                        copy.write_row(values)
            else:
                marks = ", ".join(["%s"] * len(plan.columns))
                cursor.executemany(f"INSERT INTO {qn(plan.table)} ({cols}) VALUES ({marks})", tuples)  # noqa: S608
        return full

    def insert(self, model, rows: list[dict]) -> None:
        """Write ``rows`` (each with its ``id``) and, with history, their creation history rows."""
        if not rows:
            return
        full = self._write(model, rows)
        if self.history and hasattr(model, "history"):
            extra = {
                "history_date": self.when,
                "history_change_reason": self.reason,
                "history_type": "+",
                "history_user_id": None,
            }
            self._write(model.history.model, [{**row, **extra} for row in full])
            self.history_rows += len(rows)

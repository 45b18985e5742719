"""Keeping the ledgers over time (:class:`~monitoring.models.LedgerSpan`) true.

:func:`sync_ledger_spans` is the one function that does it: for the households given (by id
or by area-code prefix) it closes, at ``at``, every open span the rule
(:func:`monitoring.ledgers.household_ledger_q`) no longer puts the household in (or whose
village it has left) and opens one for every ledger it is now in without an open span. It is
set-based (two statements per ledger) and idempotent, so it serves one household after a
service's write as well as a whole county after a bulk load.

Who calls it:

- every save of a household that writes its history row (the registry's services, the
  monitoring services' :func:`~monitoring.services.procedure.set_household_status`, the
  admin): :func:`household_history_written`, at the history row's own time, so the spans and
  ``Household.history`` agree to the microsecond;
- a case entering or leaving the exit procedure
  (:func:`~monitoring.services.procedure.case_transition`), at the status change's time;
- the bulk loads (the demo county, the benchmark county) through the
  :data:`households.signals.households_written` signal, for their whole county;
- the backfill (:func:`backfill_ledger_spans`) from the history and the status-change log.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.fields import CharField, DateTimeField

from monitoring.ledgers import EXIT_IN_PROGRESS, HOUSEHOLD_LEDGERS, household_ledger_q

SPAN_COLUMNS = ("household_id", "ledger", "area_code", "valid_from", "valid_to")


def insert_select(model, columns: tuple[str, ...], rows: QuerySet) -> int:
    """``INSERT INTO model (columns) SELECT …`` with the ``values_list`` query ``rows`` (one
    statement, no row through Python). Returns the number of rows inserted."""
    qn = connection.ops.quote_name
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) {sql}",  # noqa: S608
            params,
        )
        return cursor.rowcount


def _models(apps=None):
    if apps is None:
        from households.models import Household
        from monitoring.models import LedgerSpan, MonitoringCase

        return Household, LedgerSpan, MonitoringCase
    return (
        apps.get_model("households", "Household"),
        apps.get_model("monitoring", "LedgerSpan"),
        apps.get_model("monitoring", "MonitoringCase"),
    )


def sync_ledger_spans(*, at: dt.datetime, households=None, area_prefix: str | None = None, apps=None) -> dict:
    """Make the open spans of the given households equal to the ledgers the rule puts them in
    now, closing and opening spans at ``at``. ``households``: ids (or a queryset of ids);
    ``area_prefix``: every household under an area-code prefix ("" = all). ``apps``: the
    migration state's registry when called from a migration. Returns ``{"opened", "closed"}``."""
    if households is None and area_prefix is None:
        raise ValueError("give households or area_prefix")
    Household, LedgerSpan, MonitoringCase = _models(apps)
    exiting = Q(pk__in=MonitoringCase.objects.filter(status=EXIT_IN_PROGRESS).values("household_id"))
    if households is not None:
        # a list of ids as one array parameter (an import's thousands of households)
        lookup = "any" if isinstance(households, list | tuple | set) else "in"
        homes = Household.objects.filter(**{f"pk__{lookup}": households})
        spans = LedgerSpan.objects.filter(**{f"household_id__{lookup}": households})
    else:
        homes = Household.objects.filter(area_code__startswith=area_prefix)
        spans = LedgerSpan.objects.filter(
            Q(area_code__startswith=area_prefix) | Q(household__area_code__startswith=area_prefix)
        )
    opened = closed = 0
    for ledger in HOUSEHOLD_LEDGERS:
        rule = household_ledger_q(ledger, exiting=exiting)
        holds = Household.objects.filter(rule, pk=OuterRef("household_id"), area_code=OuterRef("area_code"))
        stale = spans.filter(ledger=ledger, valid_to__isnull=True).exclude(Exists(holds))
        closed += stale.update(valid_to=at)
        has_open = LedgerSpan.objects.filter(
            household_id=OuterRef("pk"), ledger=ledger, area_code=OuterRef("area_code"), valid_to__isnull=True
        )
        missing = (
            homes.filter(rule)
            .exclude(Exists(has_open))
            .order_by()
            .values_list(
                "pk",
                Value(str(ledger), output_field=CharField()),
                "area_code",
                Value(at, output_field=DateTimeField()),
                Value(None, output_field=DateTimeField()),
            )
        )
        opened += insert_select(LedgerSpan, SPAN_COLUMNS, missing)
    # a span closed the moment it opened (two writes at one instant) held at no moment
    spans.filter(valid_to__isnull=False, valid_from__gte=at, valid_to__lte=at).delete()
    return {"opened": opened, "closed": closed}


def sync_household(household_id: int, *, at: dt.datetime) -> None:
    sync_ledger_spans(at=at, households=[household_id])


# --- receivers (connected in MonitoringConfig.ready) -----------------------------------------


#: The household's fields the ledgers depend on (with its village, which the spans copy).
RULE_FIELDS = ("monitoring_status", "household_type", "low_income_status", "area_code")


def household_history_written(sender, *, instance, history_instance, history_date, **kwargs) -> None:
    """A household's history row was written: its ledgers may have changed at that moment
    (not when none of :data:`RULE_FIELDS` changed, as with a new phone number or head)."""
    if history_instance.history_type == "~":
        # the row as last written before (by write order: a service may date its change back)
        previous = (
            type(history_instance)
            .objects.filter(id=instance.pk, history_id__lt=history_instance.history_id)
            .order_by("-history_id")
            .values(*RULE_FIELDS)
            .first()
        )
        if previous is not None and all(previous[f] == getattr(history_instance, f) for f in RULE_FIELDS):
            return
    sync_household(instance.pk, at=history_date)


def households_written(
    sender, *, at: dt.datetime, area_prefix: str | None = None, households=None, **kwargs
) -> None:
    """A bulk load wrote the households under ``area_prefix``, or those of ``households`` (ids),
    as rows, not saves (the demo county, an import)."""
    if households is not None:
        sync_ledger_spans(at=at, households=list(households))
    else:
        sync_ledger_spans(at=at, area_prefix=area_prefix)


# --- backfill from the history ---------------------------------------------------------------

STATE_TABLE = "monitoring_ledger_backfill_state"

#: The stretches of constant state of every household, from its history rows and its cases'
#: exit procedures (StatusChange rows of cases entering and leaving ``exit_in_progress``): one
#: row per moment something changed, valid until the next one. ``delta`` counts the exit
#: procedures under way (+1 in, -1 out); ``grp`` numbers the history rows, so the moments after
#: one take its fields. Window functions only: PostgreSQL and SQLite alike, one pass.
STATE_SQL = """
CREATE TEMPORARY TABLE {state} AS
WITH moves AS (
    SELECT c.household_id AS household_id, s.at AS t0, s.to_status AS status,
           LEAD(s.at) OVER (PARTITION BY s.object_id ORDER BY s.at, s.id) AS t1
    FROM {changes} s JOIN {cases} c ON c.id = s.object_id
    WHERE s.object_type = 'case'
), exits AS (
    SELECT household_id, t0, t1 FROM moves WHERE status = %s
), points AS (
    SELECT id AS household_id, history_date AS t, 1 AS is_row, history_id AS ord, 0 AS delta FROM {history}
    UNION ALL SELECT household_id, t0, 0, 0, 1 FROM exits
    UNION ALL SELECT household_id, t1, 0, 0, -1 FROM exits WHERE t1 IS NOT NULL
), numbered AS (
    SELECT household_id, t, ord,
           SUM(is_row) OVER w AS grp,
           SUM(delta) OVER w AS exits_open,
           LEAD(t) OVER (PARTITION BY household_id ORDER BY t, is_row DESC, ord, delta) AS t_to
    FROM points
    WINDOW w AS (PARTITION BY household_id ORDER BY t, is_row DESC, ord, delta ROWS UNBOUNDED PRECEDING)
), stretches AS (
    SELECT household_id, t, t_to, exits_open, MAX(ord) OVER (PARTITION BY household_id, grp) AS history_id
    FROM numbered
)
SELECT s.household_id AS household_id, s.t AS valid_from, s.t_to AS valid_to, h.area_code AS area_code,
       h.household_type AS household_type, h.low_income_status AS low_income_status,
       h.monitoring_status AS monitoring_status, (s.exits_open > 0) AS exiting
FROM stretches s JOIN {history} h ON h.history_id = s.history_id
WHERE h.history_type <> '-' AND (s.t_to IS NULL OR s.t_to > s.t)
"""


def _state_model():
    """The backfill's state rows as a model of their own registry, so the ledgers' rule
    (:func:`~monitoring.ledgers.household_ledger_q`) can be compiled against them."""
    from django.apps.registry import Apps
    from django.db import models

    class Meta:
        apps = Apps()
        app_label = "monitoring"
        db_table = STATE_TABLE
        managed = False

    fields = {
        "household_id": models.BigIntegerField(primary_key=True),
        "valid_from": models.DateTimeField(),
        "valid_to": models.DateTimeField(null=True),
        "area_code": models.CharField(max_length=12),
        "household_type": models.CharField(max_length=20),
        "low_income_status": models.CharField(max_length=30),
        "monitoring_status": models.CharField(max_length=20),
        "exiting": models.BooleanField(),
    }
    return type("LedgerBackfillState", (models.Model,), {"__module__": __name__, "Meta": Meta, **fields})


def backfill_ledger_spans(apps, *, now: dt.datetime) -> dict:
    """Every household's spans from its history rows and its cases' status changes (set-based:
    one statement builds the stretches of constant state, one per ledger turns them into spans,
    one joins adjacent spans), then a live sync at ``now`` for whatever the history does not
    tell (rows written without a history row). Replaces the spans there are."""
    Household, LedgerSpan, MonitoringCase = _models(apps)
    table = {
        "history": apps.get_model("households", "HistoricalHousehold")._meta.db_table,
        "changes": apps.get_model("monitoring", "StatusChange")._meta.db_table,
        "cases": MonitoringCase._meta.db_table,
    }
    qn = connection.ops.quote_name
    State = _state_model()
    LedgerSpan.objects.all().delete()
    inserted = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STATE_TABLE}")
        cursor.execute(
            STATE_SQL.format(state=STATE_TABLE, **{k: qn(v) for k, v in table.items()}), [EXIT_IN_PROGRESS]
        )
        for ledger in HOUSEHOLD_LEDGERS:
            rows = (
                State.objects.filter(household_ledger_q(ledger, exiting=Q(exiting=True)))
                .order_by()
                .values_list(
                    "household_id",
                    Value(str(ledger), output_field=CharField()),
                    "area_code",
                    "valid_from",
                    "valid_to",
                )
            )
            inserted += insert_select(LedgerSpan, SPAN_COLUMNS, rows)
        cursor.execute(f"DROP TABLE {STATE_TABLE}")
    merged = merge_adjacent_spans(apps)
    synced = sync_ledger_spans(at=now, area_prefix="", apps=apps)
    return {"spans": inserted - merged, "merged": merged, **synced}


MERGE_SQL = """
WITH ordered AS (
    SELECT id, household_id, ledger, area_code, valid_from, valid_to,
           LAG(valid_to) OVER (PARTITION BY household_id, ledger, area_code ORDER BY valid_from, id) AS prev_to
    FROM {spans}
), islands AS (
    SELECT id, household_id, ledger, area_code, valid_from, valid_to,
           SUM(CASE WHEN prev_to = valid_from THEN 0 ELSE 1 END)
               OVER (PARTITION BY household_id, ledger, area_code ORDER BY valid_from, id ROWS UNBOUNDED PRECEDING)
               AS island
    FROM ordered
), joined AS (
    SELECT MIN(id) AS keep, household_id, ledger, area_code, island, COUNT(*) AS n,
           MAX(CASE WHEN valid_to IS NULL THEN 1 ELSE 0 END) AS open_ended, MAX(valid_to) AS last_to
    FROM islands GROUP BY household_id, ledger, area_code, island HAVING COUNT(*) > 1
)
"""


def merge_adjacent_spans(apps=None) -> int:
    """Join spans of one household, ledger and village that follow each other without a gap
    (the backfill makes one per history row). Returns the number of spans removed."""
    _Household, LedgerSpan, _Case = _models(apps)
    spans = connection.ops.quote_name(LedgerSpan._meta.db_table)
    head = MERGE_SQL.format(spans=spans)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STATE_TABLE}_merge")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STATE_TABLE}_merge AS {head} "  # noqa: S608
            "SELECT i.id AS id, j.keep AS keep, j.open_ended AS open_ended, j.last_to AS last_to "
            "FROM islands i JOIN joined j ON j.household_id = i.household_id AND j.ledger = i.ledger "
            "AND j.area_code = i.area_code AND j.island = i.island"
        )
        cursor.execute(
            f"UPDATE {spans} SET valid_to = (SELECT CASE WHEN m.open_ended = 1 THEN NULL ELSE m.last_to END "  # noqa: S608
            f"FROM {STATE_TABLE}_merge m WHERE m.id = {spans}.id) "
            f"WHERE id IN (SELECT keep FROM {STATE_TABLE}_merge)"
        )
        cursor.execute(
            f"DELETE FROM {spans} WHERE id IN (SELECT id FROM {STATE_TABLE}_merge WHERE id <> keep)"  # noqa: S608
        )
        removed = cursor.rowcount
        cursor.execute(f"DROP TABLE {STATE_TABLE}_merge")
    return removed

"""The ledgers over time: one row per stretch of time a household spent in a household ledger."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LedgerSpanQuerySet(models.QuerySet):
    def at(self, moment: dt.datetime):
        """The spans that hold just before ``moment`` (``valid_from < moment <= valid_to``): with
        :func:`monitoring.ledgers.end_of_day`, the ledgers as they stood at the end of a day."""
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=moment), valid_from__lt=moment)

    def open(self):
        return self.filter(valid_to__isnull=True)


class LedgerSpan(models.Model):
    """A household was in ``ledger`` (1–4), in the village ``area_code``, from ``valid_from``
    until ``valid_to`` (``NULL``: still is). Kept by :mod:`monitoring.services.ledgers`, the
    one function every writer of the fields the rule reads calls; the village's area code is
    copied in so one index answers "ledger L, under area A, at moment T" (the household id is
    its last column, so counting and joining read the index only)."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("农户"), on_delete=models.CASCADE, related_name="ledger_spans"
    )
    ledger = models.CharField(_("台账"), max_length=30)
    area_code = models.CharField(_("区划代码"), max_length=12)
    valid_from = models.DateTimeField(_("起始时间"))
    valid_to = models.DateTimeField(_("截止时间"), null=True, blank=True)

    objects = LedgerSpanQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账区间")
        verbose_name_plural = _("台账区间")
        indexes = [
            models.Index(
                fields=["ledger", "area_code", "valid_from", "valid_to", "household"], name="ledgerspan_at"
            ),
            models.Index(fields=["household", "ledger"], name="ledgerspan_household"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.ledger} {self.valid_from:%Y-%m-%d}–{self.valid_to or ''}"

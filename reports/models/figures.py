"""Precomputed dashboard figures (``reports.snapshots``): one row per area and figure."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FigureSnapshot(models.Model):
    """A figure of ``reports.figures`` as computed for one area (a county or a township) at
    ``computed_at``: the page reads it instead of aggregating the county on every request.
    ``data`` holds the figure's rows with their labels in every language."""

    area_code = models.CharField(_("区划代码前缀"), max_length=12)
    key = models.CharField(_("统计图"), max_length=40)
    data = models.JSONField(_("数据"), default=dict)
    as_of = models.DateField(_("统计日期"))
    computed_at = models.DateTimeField(_("计算时间"))
    seconds = models.FloatField(_("计算用时（秒）"), default=0)

    class Meta:
        verbose_name = _("看板统计快照")
        verbose_name_plural = _("看板统计快照")
        constraints = [models.UniqueConstraint(fields=["area_code", "key"], name="figure_snapshot_area_key")]

    def __str__(self) -> str:
        return f"{self.area_code} {self.key}"

"""Excel exports as background jobs (``reports/services/exports.py`` requests and runs them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from reports.columns import ListKind


class ExportState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("正在导出")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")


KIND_CHOICES = [
    (ListKind.KEY_MONITORING.value, _("重点监测对象")),
    (ListKind.STABLE_OUT_OF_POVERTY.value, _("稳定脱贫户")),
    (ListKind.ORDINARY.value, _("一般农户")),
    (ListKind.LOW_INCOME.value, _("低收入群体")),
    (ListKind.EARLY_WARNING.value, _("预警信息")),
    (ListKind.CASES.value, _("案件列表")),
]


class ExportJob(models.Model):
    """One export of a list for one person: its normalised parameters, its progress, its file
    (under ``MEDIA_ROOT``, served only to its owner) until it expires."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="export_jobs"
    )
    kind = models.CharField(_("导出内容"), max_length=30, choices=KIND_CHOICES)
    params = models.JSONField(_("查询条件"), default=dict, blank=True)
    #: a digest of kind, parameters and language: the same request while a job is alive finds it
    params_key = models.CharField(_("条件摘要"), max_length=64, editable=False)
    language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    state = models.CharField(
        _("状态"), max_length=10, choices=ExportState.choices, default=ExportState.QUEUED
    )
    rows_written = models.PositiveIntegerField(_("已写行数"), default=0)
    rows_total = models.PositiveIntegerField(_("总行数"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to="exports/", blank=True, max_length=200)
    filename = models.CharField(_("文件名"), max_length=150, blank=True)
    error = models.CharField(_("失败原因"), max_length=40, blank=True)
    error_detail = models.TextField(_("失败详情"), blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), db_index=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "params_key", "state"]),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, int(self.rows_written * 100 / self.rows_total))

    @property
    def alive(self) -> bool:
        return self.state in (ExportState.QUEUED, ExportState.RUNNING)

"""Imports of households, members and income from workbooks (see ``households/imports/``).

``ImportJob`` is one uploaded file and what became of it (the dry run's errors, the rows
written, what was created and changed); ``ImportColumnMapping`` is the operator-editable table
of header names: a county whose export names a column differently adds a row, no code changes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, ScopedQuerySet


class ImportLayout(models.TextChoices):
    OWN = "own", _("本系统模板")
    NATIONAL = "national", _("全国系统基础信息表（每人一行）")


class ImportState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("处理中")
    CHECKED = "checked", _("检查完成（未写入）")
    FAILED = "failed", _("有错误，未写入")
    DONE = "done", _("已导入")


class ImportJobQuerySet(ScopedQuerySet):
    """A job belongs to the area of the person who started it: operators and county people
    of that area see it; other roles see none."""

    area_field = "area_code"
    area_roles = frozenset({Role.OPERATOR, Role.COUNTY_APPROVER})

    def department_q(self, user):
        return None


class ImportJob(models.Model):
    layout = models.CharField(_("格式"), max_length=20, choices=ImportLayout.choices)
    dry_run = models.BooleanField(_("仅检查"), default=True)
    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/", max_length=200)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_size = models.PositiveIntegerField(_("文件大小"), default=0)
    state = models.CharField(
        _("状态"), max_length=10, choices=ImportState.choices, default=ImportState.QUEUED
    )
    #: the area the job may write in (the starter's first area code; all codes under it)
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_checked = models.PositiveIntegerField(_("已检查行数"), default=0)
    rows_written = models.PositiveIntegerField(_("已写入行数"), default=0)
    #: [{"sheet", "row", "column", "message"}], in the starter's language
    errors = models.JSONField(_("错误"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    #: {"created": {...}, "changed": {...}, "changes": [{"household", "fields"}]}
    summary = models.JSONField(_("结果"), default=dict, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    language = models.CharField(_("语言"), max_length=10, default="zh-hans")
    #: SHA-256 of the file's bytes: a real import of a file a dry run has just passed reuses
    #: that dry run's checked rows (``imports.jobs``)
    sha256 = models.CharField(_("文件摘要"), max_length=64, blank=True, db_index=True)
    #: a passed dry run's checked rows (signed; read back only by a real run of the same file)
    plan_file = models.FileField(upload_to="imports/plans/%Y/%m/", max_length=200, blank=True, editable=False)
    checked_from = models.ForeignKey(
        "self",
        verbose_name=_("沿用的检查"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("正式导入沿用了这次仅检查的逐行检查结果（登记库相关的检查重新进行）。"),
    )

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.CHECKED, ImportState.FAILED, ImportState.DONE)

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.finished else 0
        done = self.rows_checked + (0 if self.dry_run else self.rows_written)
        whole = self.rows_total * (1 if self.dry_run else 2)
        return min(100, int(done * 100 / whole))


class ImportColumnMapping(models.Model):
    """One header name of a layout and the field it fills (added to the built-in names)."""

    layout = models.CharField(_("格式"), max_length=20, choices=ImportLayout.choices)
    header = models.CharField(_("列名"), max_length=100)
    field = models.CharField(_("对应字段"), max_length=40)

    class Meta:
        verbose_name = _("导入列名对照")
        verbose_name_plural = _("导入列名对照")
        ordering = ["layout", "header"]
        constraints = [
            models.UniqueConstraint(fields=["layout", "header"], name="import_mapping_unique_header")
        ]

    def __str__(self) -> str:
        return f"{self.header} → {self.field}"

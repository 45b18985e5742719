"""Photos attached to a procedure step: what the visitors saw at the exit home check (听评看算's
"look"), uploaded before the step is completed and kept with it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import AreaScopedQuerySet


class StepPhotoQuerySet(AreaScopedQuerySet):
    def department_q(self, user):
        return None


class StepPhoto(models.Model):
    step = models.ForeignKey(
        "CaseStep", verbose_name=_("步骤"), on_delete=models.CASCADE, related_name="photos"
    )
    case = models.ForeignKey(
        "MonitoringCase", verbose_name=_("案件"), on_delete=models.CASCADE, related_name="photos"
    )
    area_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    file = models.FileField(_("照片"), upload_to="step_photos/%Y/%m/", max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=20)
    size = models.PositiveIntegerField(_("大小（字节）"))
    caption = models.CharField(_("说明"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    objects = StepPhotoQuerySet.as_manager()

    class Meta:
        verbose_name = _("核查照片")
        verbose_name_plural = _("核查照片")
        ordering = ["step_id", "id"]

    def __str__(self) -> str:
        return f"{self.step_id}: {self.caption or self.pk}"

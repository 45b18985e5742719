"""Models of the reports app (each part in its own module)."""

from reports.models.exports import ExportJob, ExportState

__all__ = ["ExportJob", "ExportState"]

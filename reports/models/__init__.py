"""Models of the reports app (each part in its own module)."""

from reports.models.exports import ExportJob, ExportState
from reports.models.ledger import FrozenMonth, FrozenRow

__all__ = ["ExportJob", "ExportState", "FrozenMonth", "FrozenRow"]

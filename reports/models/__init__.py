"""Models of the reports app, one module each (imported here so Django finds them)."""

from reports.models.exports import ExportJob, ExportState
from reports.models.figures import FigureSnapshot
from reports.models.ledger import FrozenMonth, FrozenRow

__all__ = ["ExportJob", "ExportState", "FigureSnapshot", "FrozenMonth", "FrozenRow"]

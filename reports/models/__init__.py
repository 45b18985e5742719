"""The reports app's models, one module each (imported here so Django finds them)."""

from .figures import FigureSnapshot

__all__ = ["FigureSnapshot"]

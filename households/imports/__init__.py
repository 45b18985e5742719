"""Households, members and yearly income from ``.xlsx`` workbooks.

- ``layouts``: the fields an import fills, the header names of each layout (built in, plus the
  operator's ``ImportColumnMapping`` rows) and the code lists;
- ``reader``: the safe reading of a workbook (``.xlsx`` only, size and row limits, no DTD or
  entity declarations, defusedxml for the XML parsed here);
- ``validate``: every row checked with the registry's own rules; errors by sheet, row, column;
- ``write``: ``apply_rows``, the one writer (all or nothing, history rows in bulk);
- ``jobs``: the background job (progress, error report, security log) and the workbooks
  (template, error report, export in the national layout).
"""

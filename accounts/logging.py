"""Logging that never writes an ID number in full.

:class:`MaskIdNumbers` is a filter on every handler of ``LOGGING`` (config/settings.py): an
18-character citizen ID number in a log line (a request path, an error, a task's message) is
written as its first 6 and last 4 characters, the middle starred, as the pages mask it.
"""

from __future__ import annotations

import logging
import re

#: 18 characters (17 digits and a digit or X), not inside a longer run of digits
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_id_numbers(text: str) -> str:
    """``text`` with every ID number in it masked (``130727********0012``)."""
    return ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(2)}", text)


class MaskIdNumbers(logging.Filter):
    """Mask ID numbers in the record's message (formatted with its arguments) and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to the handler, which reports it
            return True
        masked = mask_id_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_numbers(record.exc_text)
        return True

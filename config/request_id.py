"""A request id on every request and every log line it causes.

``RequestIdMiddleware`` (first in ``MIDDLEWARE``) takes the id the proxy sent
(``X-Request-ID``, when it is a short token) or makes one, answers it in the response's
``X-Request-ID`` and keeps it for the request's duration; the ``request_id`` logging filter
puts it on every record (``-`` outside a request). ``JsonFormatter`` writes one JSON object a
line (``LOG_FORMAT=json``) for a log collector: time, level, logger, message, request id and
the traceback, ID numbers masked by the handlers' other filter.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

HEADER = "HTTP_X_REQUEST_ID"
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
current = contextvars.ContextVar("request_id", default="-")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get(HEADER, "")
        request_id = given if _TOKEN.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)

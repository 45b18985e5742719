"""The small set of exceptions every service raises.

Pages turn them into messages next to the form, the API into ``{"code", "message",
"fields"}`` with a 4xx status; nothing a person typed is lost either way.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError  # re-exported: field-level input errors

__all__ = ["ServiceError", "NotAllowed", "Conflict", "InvalidTransition", "ValidationError"]


class ServiceError(Exception):
    """Base for refusals a person can understand."""

    code = "error"
    http_status = 400

    def __init__(self, message, *, fields: dict | None = None, code: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class NotAllowed(ServiceError):
    """The actor may not do this (role or area)."""

    code = "not_allowed"
    http_status = 403


class InvalidTransition(ServiceError):
    """The object's current state does not allow the action, or a guard fails."""

    code = "invalid_transition"
    http_status = 409


class Conflict(ServiceError):
    """Someone else changed the object first."""

    code = "conflict"
    http_status = 409

"""Shared helpers for the web forms.

``submit_once``: every form carries a one-time token; a second POST of the same token (a
double tap, a resubmitted page) is answered with the result of the first instead of creating
a second record.
"""

from __future__ import annotations

import uuid

from django import forms
from django.http import HttpResponseRedirect

SESSION_KEY = "submitted_tokens"
KEEP = 50


class SubmitTokenField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


def new_token() -> str:
    return uuid.uuid4().hex


def already_submitted(request, token: str | None) -> HttpResponseRedirect | None:
    """If this token was already used, redirect to where the first submit went."""
    if not token:
        return None
    done = request.session.get(SESSION_KEY, {})
    url = done.get(token)
    return HttpResponseRedirect(url) if url else None


def remember_submitted(request, token: str | None, result_url: str) -> None:
    if not token:
        return
    done = dict(request.session.get(SESSION_KEY, {}))
    done[token] = result_url
    if len(done) > KEEP:
        for old in list(done)[: len(done) - KEEP]:
            done.pop(old, None)
    request.session[SESSION_KEY] = done


def apply_service_errors(form: forms.Form, exc) -> None:
    """Put a service's ValidationError (field → message) on the form's fields; unknown
    fields go to the form's non-field errors, so nothing the person typed is lost."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in getattr(exc, "messages", [str(exc)]):
            form.add_error(None, message)

"""Shared helpers for the web forms.

``submit_once``: every form carries a one-time token; a second POST of the same token (a
double tap, a resubmitted page) is answered with the result of the first instead of creating
a second record.
"""

from __future__ import annotations

import uuid

from django import forms
from django.db import transaction
from django.http import HttpResponseRedirect

from accounts.errors import ServiceError, ValidationError

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


class _RolledBack(Exception):
    """Raised inside :func:`refusal` to undo a trial call that went through."""


def refusal(call) -> Exception | None:
    """Try a service call in a transaction that is always rolled back; its refusal, if any.

    A page whose form has errors of its own asks the service too (with what did parse), so a
    person sees every error of one submission together, never one round after another.
    Nothing is written: the transaction is undone (and its on-commit work dropped) whatever the
    service did.
    """
    try:
        with transaction.atomic():
            call()
            raise _RolledBack
    except _RolledBack:
        return None
    except (ValidationError, ServiceError) as exc:
        return exc


def add_service_errors(form: forms.Form, exc: Exception | None) -> None:
    """Add a service's field messages to the fields that have no error of their own yet (a
    field the form could not parse was sent to the service empty, so its message there is
    not the one to show); the service's messages about other things go on top once."""
    if exc is None:
        return
    if isinstance(exc, ServiceError):
        fields = {name: m if isinstance(m, list | tuple) else [m] for name, m in exc.fields.items()}
        general = [] if fields else [exc.message]
    elif hasattr(exc, "error_dict"):
        fields = {name: list(m) for name, m in exc.message_dict.items()}
        general = []
    else:
        fields, general = {}, list(getattr(exc, "messages", [str(exc)]))
    errors = form.errors  # the form's own, computed once
    shown = {str(m) for m in errors.get("__all__", [])}
    for name, messages in fields.items():
        if name in form.fields:
            if name in errors:
                continue
            for message in messages:
                form.add_error(name, message)
        else:
            general.extend(messages)
    for message in general:
        if str(message) not in shown:
            shown.add(str(message))
            form.add_error(None, message)


def style(form: forms.BaseForm) -> forms.BaseForm:
    """Bootstrap classes on every widget (also used on the FilterSets' forms)."""
    errors = getattr(form, "_errors", None) or {}  # never run the validation from here
    for name, f in form.fields.items():
        widget = f.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        else:
            css = "form-control"
        classes = widget.attrs.get("class", "")
        if css not in classes.split():
            widget.attrs["class"] = f"{classes} {css}".strip()
        grouped = isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect)
        if name in errors and not grouped and "is-invalid" not in widget.attrs["class"].split():
            widget.attrs["class"] += " is-invalid"
            widget.attrs["aria-invalid"] = "true"
    return form


class PageForm(forms.Form):
    """A form with the one-time token, Bootstrap classes and invalid fields marked."""

    token = SubmitTokenField()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["token"].initial = new_token()
        style(self)

    def add_error(self, field, error):
        super().add_error(field, error)
        style(self)

    def submitted_token(self) -> str:
        return (self.data.get(self.add_prefix("token")) or "").strip() if self.is_bound else ""


def error_status(exc: Exception) -> int:
    """The status of a page that shows a service's refusal (403, 409; 200 for input errors)."""
    if isinstance(exc, ServiceError):
        return exc.http_status
    return 200


def show_error(form, exc: Exception) -> None:
    """Put a service's refusal on the form: field messages next to their fields, the rest on top."""
    if isinstance(exc, ValidationError):
        apply_service_errors(form, exc)
        return
    form.add_error(None, str(exc.message) if isinstance(exc, ServiceError) else str(exc))

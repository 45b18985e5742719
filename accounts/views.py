"""The person's own account pages: API tokens (list, create, rotate, revoke)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.access import staff_page
from accounts.errors import ServiceError, ValidationError
from accounts.forms import TokenActionForm, TokenCreateForm
from accounts.tokens import token_issue, token_revoke, token_rotate, tokens_of
from config.forms import already_submitted, error_status, new_token, remember_submitted, show_error


def _page(request, *, form=None, issued=None, status=200):
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form or TokenCreateForm(),
            "rows": [
                {"token": t, "actions": [(a, label, new_token()) for a, label in TokenActionForm.ACTIONS]}
                for t in tokens_of(request.user)
            ],
            "issued": issued,
        },
        status=status,
    )


@staff_page
@never_cache
def token_list(request):
    """The person's tokens; POST creates one, shown once on the answer."""
    if request.method != "POST":
        return _page(request)
    url = reverse("accounts:tokens")
    form = TokenCreateForm(request.POST)
    done = already_submitted(request, form.submitted_token())
    if done is not None:
        return done
    if not form.is_valid():
        return _page(request, form=form)
    try:
        token, raw = token_issue(
            actor=request.user,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            request=request,
        )
    except (ValidationError, ServiceError) as exc:
        show_error(form, exc)
        return _page(request, form=form, status=error_status(exc))
    remember_submitted(request, form.submitted_token(), url)
    return _page(request, issued={"token": token, "key": raw})


@staff_page
@never_cache
def token_action(request):
    """Rotate (the new key shown once) or revoke one of the person's tokens."""
    url = reverse("accounts:tokens")
    if request.method != "POST":
        return redirect(url)
    form = TokenActionForm(request.POST)
    done = already_submitted(request, form.submitted_token())
    if done is not None:
        return done
    if not form.is_valid():
        messages.error(request, _("未找到该令牌，未作更改。"))
        return redirect(url)
    token = tokens_of(request.user).filter(prefix=form.cleaned_data["which"]).first()
    if token is None:
        messages.error(request, _("未找到该令牌，未作更改。"))
        return redirect(url)
    try:
        if form.cleaned_data["action"] == "revoke":
            token_revoke(actor=request.user, token=token, request=request)
        else:
            new, raw = token_rotate(actor=request.user, token=token, request=request)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect(url)
    remember_submitted(request, form.submitted_token(), url)
    if form.cleaned_data["action"] == "revoke":
        messages.success(
            request, _("令牌 %(prefix)s 已吊销，使用它的调用将被拒绝。") % {"prefix": token.prefix}
        )
        return redirect(url)
    return _page(request, issued={"token": new, "key": raw, "replaced": token})

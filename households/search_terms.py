"""ID numbers never travel in a URL.

A page address ends up in access logs, the browser's history and the ``Referer`` of the next
request, so a search by ID number must not put the number in a query string:

* the pages' search forms are POSTed; :func:`post_to_get` answers with a redirect to the same
  list (post/redirect/get) where an ID number is replaced by an opaque key
  (``search_key=…``) to the term kept in the person's session (:func:`stash`);
* a list asked with the key gets the term back (:func:`page_query`); a list asked with an ID
  number in its address (typed or bookmarked) is redirected the same way, so the number is
  not carried on to the next pages;
* the API refuses an ID number in a query string (400) and takes it in the body of
  ``POST …/search/`` instead (:mod:`households.api`).
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict
from django.utils.translation import gettext as _

from .filters import search_kind

#: the session entry holding ``{key: term}``, and how many terms it keeps (the latest)
SESSION_KEY = "search_terms"
KEEP = 20
#: the query-string parameter that stands for a kept term
KEY_PARAM = "search_key"
#: the form fields never sent on in a redirect
_NOT_CARRIED = ("csrfmiddlewaretoken", "page")


def is_id_number(term) -> bool:
    """Does ``term`` read as an ID number (the search would look it up as one)?"""
    return isinstance(term, str) and search_kind(term)[0] == "id_number"


def stash(request, term: str) -> str:
    """Keep ``term`` in the session; the opaque key that stands for it in a URL."""
    kept = dict(request.session.get(SESSION_KEY) or {})
    for key, value in kept.items():
        if value == term:
            return key
    key = secrets.token_urlsafe(9)
    kept[key] = term
    request.session[SESSION_KEY] = dict(list(kept.items())[-KEEP:])
    return key


def unstash(request, key: str) -> str | None:
    """The term kept under ``key`` in this session (``None`` if unknown or expired)."""
    value = (request.session.get(SESSION_KEY) or {}).get(key)
    return value if isinstance(value, str) else None


def _redirect(request, data: QueryDict, field: str) -> HttpResponseRedirect:
    term = data.get(field, "")
    if is_id_number(term):
        data.pop(field)
        data[KEY_PARAM] = stash(request, term.strip())
    query = QueryDict(mutable=True)
    for name, values in data.lists():
        kept = [v for v in values if v != ""]
        if kept and name not in _NOT_CARRIED:
            query.setlist(name, kept)
    url = f"{request.path}?{query.urlencode()}" if query else request.path
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def post_to_get(request, field: str = "search") -> HttpResponseRedirect:
    """A list's search form, POSTed: the same list by GET, an ID number swapped for a key."""
    return _redirect(request, request.POST.copy(), field)


def page_query(request, field: str = "search") -> tuple[QueryDict, HttpResponseRedirect | None]:
    """The list's query with a kept term put back under ``field`` (and the key dropped), or a
    redirect when the address itself carries an ID number."""
    if is_id_number(request.GET.get(field)):
        return request.GET, _redirect(request, request.GET.copy(), field)
    data = request.GET.copy()
    key = data.pop(KEY_PARAM, [""])[-1]
    if key:
        term = unstash(request, key)
        if term is None:
            messages.warning(request, _("这次查找已过期，请重新输入身份证号查找。"))
        else:
            data[field] = term
    return data, None

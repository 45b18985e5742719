"""The crawl: every demo role, in Chinese and in English, follows every same-site link reachable
from its home page and menu (GET only) over the demo data of ``make run``.

No page may answer 5xx or 405, nor a 403/404 for a link the system itself showed; no English
page may show a msgid of the catalogue untranslated; and, in Chromium at 360 px, no page may be
wider than the screen. Links are grouped into page kinds (the path with its numbers replaced,
and the names of its query parameters), and at most :data:`PER_KIND` pages of each kind are
visited per role and language, so the crawl reaches every kind of page (lists, detail pages,
forms, printables) in bounded time, however large the demo county.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.translation import trans_real

from accounts.models import User
from tests.browser.conftest import PHONE, shot
from tests.transactional import reference_data_afterwards, restore_reference_data  # noqa: F401 (autouse)

pytestmark = pytest.mark.django_db(transaction=True)

HOUSEHOLDS = 400
PER_KIND = 2
#: At most this many sets of query parameters (filters, sorting) per path.
VARIANTS = 4
LANGUAGES = ("zh-hans", "en")
#: Links the crawl does not follow: signing out, the language switch (a POST), the API and its
#: docs (JSON and Swagger, checked by the API tests), static files.
SKIP = re.compile(r"^/(accounts/logout/|i18n/|api/|static/|media/|admin/logout/|admin/jsi18n/)")
#: Admin pages that exist for every model; one model's are enough to stand for the others.
ADMIN_KIND = re.compile(r"^/admin/(\w+)/(\w+)/")
VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{[^}]*\}")


class _Page(HTMLParser):
    """The links and the visible text of a page, without scripts and without what is marked
    ``translate="no"`` (what a person typed, a notice as it was posted)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._open: list[tuple[str, bool]] = []  # open tags, and whether each starts a skip
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        skips = tag in ("script", "style", "template") or attributes.get("translate") == "no"
        if not (self._skip or skips):
            for name in ("placeholder", "title", "aria-label", "alt"):  # read without a text node
                if attributes.get(name):
                    self.text.append(attributes[name])
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self.text.append(attributes.get("value") or "")
        if tag in VOID:
            return
        self._open.append((tag, skips))
        self._skip += skips

    def handle_endtag(self, tag):
        if not any(name == tag for name, _s in self._open):
            return
        while self._open:
            name, skips = self._open.pop()
            self._skip -= skips
            if name == tag:
                break

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(data.strip())


def kind_of(url: str) -> tuple[str, str]:
    """``/cases/12/?queue=township&page=3`` → ``("/cases/N/", "queue")``: one kind of page.

    In the admin, a model's object pages stand for every model's, and its filters (query
    strings) are one kind: the admin is Django's, the crawl checks our models' pages render."""
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    if path.startswith("/admin/"):
        match = ADMIN_KIND.match(path)
        if match and path.count("/") > 4:
            path = "/admin/*/*/" + path[match.end() :]
        return path, ""
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"})
    return path, "&".join(keys)


def untranslated_fragments() -> list[str]:
    """Every Chinese msgid of the English catalogue, cut at its placeholders into fragments of
    at least three characters, with its translation different from it."""
    catalog = trans_real.translation("en")._catalog
    fragments: set[str] = set()
    for key, value in catalog.items():
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or not CJK.search(msgid) or value == msgid:
            continue
        for part in PLACEHOLDER.split(msgid):
            part = part.strip(" ：:，,。.（）()、")
            if len(part) >= 3 and CJK.search(part):
                fragments.add(part)
    return sorted(fragments, key=len, reverse=True)


@dataclass
class Crawl:
    role: str
    language: str
    visited: dict[str, int] = field(default_factory=dict)  # url -> status
    kinds: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    variants: dict[str, set[str]] = field(default_factory=dict)  # path -> query-key sets tried
    failures: list[str] = field(default_factory=list)
    untranslated: dict[str, set[str]] = field(default_factory=dict)
    html: set[str] = field(default_factory=set)  # the urls that answered a page (not a file)


def crawl(username: str, language: str, fragments: list[str]) -> Crawl:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    client.cookies["django_language"] = language
    result = Crawl(username, language)
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    while queue:
        url, source = queue.popleft()
        if url in result.visited:
            continue
        path, keys = kind = kind_of(url)
        seen = result.kinds.setdefault(kind, [])
        variants = result.variants.setdefault(path, set())
        if len(seen) >= PER_KIND or (keys not in variants and len(variants) >= VARIANTS):
            continue
        variants.add(keys)
        seen.append(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        result.visited[url] = response.status_code
        if response.status_code in (301, 302, 303):
            target = urljoin(url, response["Location"])
            if urlsplit(target).netloc in ("", "testserver") and not SKIP.match(urlsplit(target).path):
                queue.append(
                    (
                        urlsplit(target).path
                        + ("?" + urlsplit(target).query if urlsplit(target).query else ""),
                        url,
                    )
                )
            continue
        if response.status_code >= 400:
            result.failures.append(f"{response.status_code} {url} (linked from {source})")
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        result.html.add(url)
        page = _Page()
        page.feed(response.content.decode())
        # the admin's lists show the stored reference names the operator edits (the Chinese
        # name beside its English one), so the check is for the system's own pages
        if language == "en" and not url.startswith("/admin/"):
            text = "\n".join(page.text)
            found = {f for f in fragments if f in text}
            if found:
                result.untranslated[url] = found
        for href in page.links:
            parts = urlsplit(urljoin(url, href))
            if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
                continue
            if SKIP.match(parts.path) or not parts.path.startswith("/"):
                continue
            query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
            queue.append((parts.path + ("?" + query if query else ""), url))
    return result


@pytest.fixture
def demo(transactional_db):
    """The demo of ``make run``, smaller: a county, its cases at every stage, the periodic tasks run once."""
    restore_reference_data()
    call_command("generate_county", households=HOUSEHOLDS, seed=1, verbosity=0)
    call_command("demo_cases", verbosity=0)
    for task in ("risk_review", "deadline_watch", "visit_watch", "measure_watch", "year_end_assessment"):
        call_command("run_task", task, verbosity=0)
    return [u.username for u in User.objects.filter(username__in=DEMO_LOGINS).order_by("pk")]


DEMO_LOGINS = ("cadre", "helper", "township", "county", "dept", "operator", "admin")


def test_every_role_every_language_every_page(demo, browser, live_server):
    fragments = untranslated_fragments()
    assert len(fragments) > 300  # the catalogue was read
    crawls = []
    for username in demo:
        for language in LANGUAGES:
            crawls.append(crawl(username, language, fragments))
            print(f"  {username}/{language}: {len(crawls[-1].visited)} pages", flush=True)
    report = []
    for c in crawls:
        report += [f"[{c.role}/{c.language}] {f}" for f in c.failures]
        report += [
            f"[{c.role}/en] untranslated on {url}: {'、'.join(sorted(found)[:8])}"
            for url, found in c.untranslated.items()
        ]
    # at 360 px in Chromium: one page of each kind per role and language; the first page of each
    # kind in each language is kept as a screenshot (artifacts/screenshots/phone-<lang>-<kind>.png)
    shot_kinds: set[tuple[str, str]] = set()
    for username in demo:
        context = browser.new_context(viewport=PHONE, base_url=live_server.url, is_mobile=True)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo12345")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for language in LANGUAGES:
            context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            mine = next(c for c in crawls if c.role == username and c.language == language)
            for kind, urls in sorted(mine.kinds.items()):
                url = urls[0]
                if url not in mine.html:
                    continue
                page.goto(url)
                if (language, kind[0]) not in shot_kinds and not url.startswith("/admin/"):
                    shot_kinds.add((language, kind[0]))
                    slug = re.sub(r"[^a-z0-9]+", "-", kind[0].lower()).strip("-") or "home"
                    shot(page, f"phone-{language}-{slug}")
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    report.append(f"[{username}/{language}] {url} is {width}px wide at {PHONE['width']}px")
                    shot(page, f"crawl-too-wide-{username}-{language}-{len(report)}")
        context.close()
    pages = sum(len(c.visited) for c in crawls)
    kinds = len({k[0] for c in crawls for k in c.kinds})
    print(f"crawl: {len(demo)} roles × {len(LANGUAGES)} languages, {pages} pages visited, {kinds} paths")
    assert not report, "\n".join(report)

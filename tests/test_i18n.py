"""The English catalogue: strings come out in English when asked, Chinese by default; the
catalogue is complete, its placeholders match, and the committed .mo is the compiled .po."""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from households import idnumber
from households.models import Household, HouseholdType, Person
from monitoring.models import CaseStatus, ExitMode

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _po_entries(path: Path) -> list[dict]:
    """A minimal .po reader: msgid, msgstr(s) and flags of each entry (the header included)."""
    out = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": set(), "obsolete": False}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                entry[key] += ast.literal_eval(line)
            else:
                key, _, rest = line.partition(" ")
                entry[key] = ast.literal_eval(rest)
        if "msgid" in entry:
            entry["msgstrs"] = [v for k, v in entry.items() if k.startswith("msgstr")]
            out.append(entry)
    return out


def _id_error(raw: str) -> str:
    with pytest.raises(idnumber.IDNumberError) as info:
        idnumber.parse(raw)
    return str(info.value.message)


# --- strings in each language ----------------------------------------------------------------


def test_english_strings():
    with translation.override("en"):
        assert _id_error("123") == "The citizen ID number must be 18 characters long."
        assert str(Household._meta.verbose_name) == "Household"
        assert str(Person._meta.get_field("id_number").verbose_name) == "Citizen ID number"
        assert HouseholdType.OUT_OF_POVERTY.label == "Household out of poverty"
        assert HouseholdType.ORDINARY.label == "Ordinary rural household"
        assert CaseStatus.SECURED_TRACKING.label == "Secured, tracking"
        assert ExitMode.NATURAL.label == "Natural elimination"


def test_chinese_strings():
    with translation.override("zh-hans"):
        assert _id_error("123") == "公民身份号码应为18位。"
        assert str(Household._meta.verbose_name) == "农户"
        assert str(Person._meta.get_field("id_number").verbose_name) == "公民身份号码"
        assert HouseholdType.OUT_OF_POVERTY.label == "脱贫户"
        assert CaseStatus.SECURED_TRACKING.label == "兜底保障跟踪"


def test_the_error_follows_the_language_active_when_raised():
    with translation.override("en"), pytest.raises(idnumber.IDNumberError) as info:
        idnumber.parse("110101190001011")  # an old 15-digit number
    assert "18-digit citizen ID number" in str(info.value)


def test_placeholders_survive_translation():
    with translation.override("en"):
        text = translation.gettext("%(days)s天") % {"days": 15}
    assert text == "15 days"


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_is_complete():
    entries = _po_entries(PO)
    header, messages = entries[0], [e for e in entries[1:] if not e["obsolete"]]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Language: en\n" in header["msgstr"]
    assert len(messages) > 500
    empty = [e["msgid"] for e in messages if any(not s for s in e["msgstrs"])]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert empty == [], f"untranslated: {empty}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"


def test_catalogue_placeholders_match_and_no_chinese_is_left():
    wrong, chinese = [], []
    for e in _po_entries(PO)[1:]:
        want = Counter(PLACEHOLDER.findall(e["msgid"]))
        for s in e["msgstrs"]:
            if Counter(PLACEHOLDER.findall(s)) != want:
                wrong.append((e["msgid"], s))
            if CJK.search(s):
                chinese.append((e["msgid"], s))
    assert wrong == []
    assert chinese == []


#: Chinese punctuation that English text must not carry (English writes ": ", "(", ", " …).
CHINESE_PUNCTUATION = re.compile(r"[：（）、，。；！？“”「」【】《》]")


def test_english_reads_as_english_no_chinese_punctuation_and_real_plurals():
    """No English msgstr carries Chinese punctuation or "(s)" for a plural: a count gets a
    plural entry (ngettext / blocktranslate count) with both English forms."""
    punctuation, s_plurals = [], []
    for e in _po_entries(PO)[1:]:
        for s in e["msgstrs"]:
            bare = PLACEHOLDER.sub("", s)
            if CHINESE_PUNCTUATION.search(bare):
                punctuation.append((e["msgid"], s))
            if re.search(r"\w\(s\)|\(es\)", bare):
                s_plurals.append((e["msgid"], s))
    assert punctuation == []
    assert s_plurals == []


def test_a_count_reads_in_the_singular_and_the_plural():
    with translation.override("en"):
        assert translation.ngettext("剩%(n)s天", "剩%(n)s天", 1) % {"n": 1} == "1 day left"
        assert translation.ngettext("剩%(n)s天", "剩%(n)s天", 3) % {"n": 3} == "3 days left"


def test_committed_mo_is_the_compiled_po():
    """The .mo is what Django reads; it must hold every translation of the .po, unchanged
    (run ``locale/update.sh`` after editing the .po)."""
    with MO.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    stale = []
    for e in _po_entries(PO)[1:]:
        if e["obsolete"]:
            continue
        # an entry with a context is stored under "context\x04msgid"
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:  # plural forms are stored under (msgid, n)
            forms = [e[f"msgstr[{i}]"] for i in range(len(e["msgstrs"]))]
            if [catalog.get((key, i)) for i in range(len(forms))] != forms:
                stale.append(e["msgid"])
        elif catalog.get(key) != e["msgstr"]:
            stale.append(e["msgid"])
    assert stale == []


# --- the admin answers in the reader's language ----------------------------------------------


@pytest.mark.django_db
def test_admin_login_in_english_with_the_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/admin/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="en"' in body
    assert "Dynamic Monitoring and Assistance System for Preventing Return to Poverty" in body
    assert "Log in" in body
    assert "防止返贫致贫动态监测和帮扶系统" not in body
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_admin_login_in_english_with_accept_language(client):
    response = client.get("/admin/login/", headers={"accept-language": "en"})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="en"' in body
    assert "Dynamic Monitoring and Assistance System for Preventing Return to Poverty" in body
    assert "Log in" in body


@pytest.mark.django_db
def test_admin_login_in_chinese_by_default(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-hans"' in body
    assert "防止返贫致贫动态监测和帮扶系统" in body
    assert "登录" in body
    assert "Dynamic Monitoring" not in body
    assert response["Content-Language"] == "zh-hans"


def test_every_text_marked_for_later_translation_is_in_the_catalogue():
    """Texts stored as message keys are marked ``N_("…")`` (``gettext_noop``); the project's
    ``makemessages`` collects them (``--keyword=N_``), so a full run keeps them translated."""
    import ast
    from pathlib import Path

    from accounts.management.commands.makemessages import Command

    assert "--keyword=N_" in Command.xgettext_options
    root = Path(__file__).resolve().parents[1]
    marked = set()
    for app in ("accounts", "households", "monitoring", "reports"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "N_"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    marked.add(node.args[0].value)
    assert len(marked) > 10
    live = {e["msgid"] for e in _po_entries(PO)[1:] if not e["obsolete"] and all(e["msgstrs"])}
    assert sorted(marked - live) == []

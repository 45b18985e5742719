#!/usr/bin/env bash
# Refresh the English catalogue after the code has changed.
#
#   locale/update.sh          (from the project root; needs GNU gettext)
#
# 1. extracts the strings again (same options as the first run; obsolete entries dropped),
# 2. lists every entry that still needs a translator: empty msgstr, "#, fuzzy" (msgmerge's
#    guess from a similar old string, shown with the old msgid), or python-format
#    placeholders that differ between msgid and msgstr,
# 3. compiles the .mo (committed, so machines without gettext still get English).
#
# Exit status 1 when something is listed: translate it in locale/en/LC_MESSAGES/django.po,
# delete the "#, fuzzy" line and the "#|" lines, and run this script again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
PO=locale/en/LC_MESSAGES/django.po

"$PY" manage.py makemessages -l en --ignore=.venv --ignore=tests --ignore=bench --no-obsolete

status=0
"$PY" - "$PO" <<'PYEOF' || status=$?
import ast
import re
import sys
from collections import Counter

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def entries(path):
    """Yield (flags, previous msgid, msgid, msgstrs) for each entry but the header."""
    text = open(path, encoding="utf-8").read()
    for block in text.split("\n\n"):
        flags, previous, fields, key = set(), "", {}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#| msgid "):
                previous = ast.literal_eval(line[len("#| msgid "):])
            elif line.startswith("#| \""):
                previous += ast.literal_eval(line[3:])
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            else:
                key, _, rest = line.partition(" ")
                fields[key] = ast.literal_eval(rest)
        if fields.get("msgid"):
            strs = [v for k, v in fields.items() if k.startswith("msgstr")]
            yield flags, previous, fields["msgid"], strs


todo = 0
for flags, previous, msgid, msgstrs in entries(sys.argv[1]):
    problems = []
    if any(not s for s in msgstrs):
        problems.append("untranslated")
    if "fuzzy" in flags:
        problems.append("fuzzy" + (f" (was: {previous!r})" if previous else ""))
    want = Counter(PLACEHOLDER.findall(msgid))
    for s in msgstrs:
        if s and Counter(PLACEHOLDER.findall(s)) != want:
            problems.append(f"placeholders differ: {sorted(want)} vs {sorted(PLACEHOLDER.findall(s))}")
    if problems:
        todo += 1
        print(f"\n{msgid!r}\n    " + "; ".join(problems))

if todo:
    print(f"\n{todo} entr{'y' if todo == 1 else 'ies'} to translate in {sys.argv[1]}")
    sys.exit(1)
print("English catalogue complete.")
PYEOF

# msgfmt leaves out untranslated and fuzzy entries, so what is listed above shows in Chinese.
"$PY" manage.py compilemessages -l en --ignore=.venv
exit "$status"

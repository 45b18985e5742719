"""``makemessages`` that also collects ``N_("…")``: the services mark texts stored as message
keys (notifications, system clue descriptions, year-end reasons) with ``gettext_noop as N_``,
which xgettext does not know by that name; without this a full run marks them obsolete."""

from django.core.management.commands.makemessages import Command as MakeMessages


class Command(MakeMessages):
    xgettext_options = [*MakeMessages.xgettext_options, "--keyword=N_"]

"""The workflow's web pages: home, clues and triage, cases, the plan editor, exit.

Views parse input, call one service (through :mod:`monitoring.dispatch` for case actions) and
render; every rule, role and area check lives in ``monitoring/services``. Rows come from
``for_user``, so another area's case, clue or household is a 404.
"""

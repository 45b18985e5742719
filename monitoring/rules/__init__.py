"""The workflow's pure rules: transition tables, step data, guards, deadlines, plans and exit
eligibility. Nothing here writes; most of it touches no database."""

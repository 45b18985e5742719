"""``defaults.load_all`` loads every default the migrations load: a database emptied by
``flush`` (the benchmark county, the transactional tests) gets the same reference data."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from monitoring import defaults

ROOT = Path(__file__).resolve().parents[2]


def _called_on_defaults(tree: ast.AST) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "defaults"
    }


def test_every_loader_a_migration_calls_is_in_load_all():
    in_migrations: set[str] = set()
    for path in ROOT.glob("*/migrations/0*.py"):
        in_migrations |= _called_on_defaults(ast.parse(path.read_text(encoding="utf-8")))
    assert {"load", "load_quality_rules"} <= in_migrations
    in_load_all = {
        node.func.id
        for node in ast.walk(ast.parse(inspect.getsource(defaults.load_all)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert in_migrations <= in_load_all, in_migrations - in_load_all


def test_load_all_on_a_loaded_database_adds_nothing(db):
    from django.apps import apps

    from monitoring.models import QualityRule, ReviewRule, RiskMeasureRule, RiskType

    before = [m.objects.count() for m in (QualityRule, ReviewRule, RiskMeasureRule, RiskType)]
    assert all(before)
    defaults.load_all(apps)
    assert [m.objects.count() for m in (QualityRule, ReviewRule, RiskMeasureRule, RiskType)] == before

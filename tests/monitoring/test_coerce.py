"""Input parsing (monitoring.rules.coerce): one parser per kind of value, for every channel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.validators import ProhibitNullCharactersValidator

from monitoring.rules import coerce

NUL = str(ProhibitNullCharactersValidator.message)
TODAY = dt.date(2026, 3, 10)
_MISSING = object()


def parse(parser, value, **options):
    """(value, errors) of ``parser`` reading ``value`` under the key ``"f"``."""
    errors: dict = {}
    data = {} if value is _MISSING else {"f": value}
    return parser(data, "f", errors, **options), errors


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.5", Decimal("12.50")),
        (" 7 ", Decimal("7.00")),
        (3, Decimal("3.00")),
        (0, Decimal("0.00")),
        (1.1, Decimal("1.10")),
        (Decimal("100.50"), Decimal("100.50")),
        ("1.005", Decimal("1.00")),  # rounded to the cent (half to even), unless exact_cents
        ("1e3", Decimal("1000.00")),
    ],
)
def test_amounts_are_decimals_with_two_places(raw, expected):
    value, errors = parse(coerce.amount_field, raw)
    assert (value, errors) == (expected, {})
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("raw", [None, "", _MISSING])
def test_no_amount_is_none(raw):
    assert parse(coerce.amount_field, raw) == (None, {})


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "NaN",
        "sNaN",
        "Infinity",
        "-inf",
        float("inf"),
        float("nan"),
        True,
        False,
        [1],
        {"v": 1},
        object(),
    ],
)
def test_what_is_not_a_finite_number_is_refused(raw):
    assert parse(coerce.amount_field, raw) == (None, {"f": "请填写数字金额。"})


def test_a_negative_amount_is_refused():
    assert parse(coerce.amount_field, "-0.01") == (None, {"f": "金额不能为负数。"})
    assert parse(coerce.amount_field, -5) == (None, {"f": "金额不能为负数。"})


def test_an_amount_above_the_maximum_or_too_large_for_cents_is_refused():
    maximum = Decimal("9999999999.99")
    assert parse(coerce.amount_field, "9999999999.99", maximum=maximum) == (maximum, {})
    assert parse(coerce.amount_field, "10000000000", maximum=maximum) == (None, {"f": "金额过大，请核实。"})
    assert parse(coerce.amount_field, 1e300, maximum=maximum) == (None, {"f": "金额过大，请核实。"})
    # without a maximum, a number with more digits than a Decimal holds is refused, not an error
    assert parse(coerce.amount_field, "1e999") == (None, {"f": "金额过大，请核实。"})


def test_exact_cents_refuses_a_third_place():
    assert parse(coerce.amount_field, "0.001", exact_cents=True) == (None, {"f": "金额最多保留两位小数。"})
    assert parse(coerce.amount_field, "2.10", exact_cents=True) == (Decimal("2.10"), {})
    assert parse(coerce.amount_field, "2.100", exact_cents=True) == (Decimal("2.10"), {})


# --- texts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "errors"),
    [
        ("  有风险 ", "有风险", {}),
        (5, "5", {}),
        (True, "True", {}),
        (False, "", {"f": "请填写此项。"}),
        (None, "", {"f": "请填写此项。"}),
        ("   ", "", {"f": "请填写此项。"}),
        (["a"], "", {"f": "须为字符串。"}),
        ({"a": 1}, "", {"f": "须为字符串。"}),
        (set(), "", {"f": "须为字符串。"}),
        ("a\x00b", "", {"f": NUL}),
    ],
)
def test_text_by_default_takes_anything_but_a_collection(raw, expected, errors):
    assert parse(coerce.text_field, raw) == (expected, errors)


def test_text_not_required_may_be_empty():
    assert parse(coerce.text_field, None, required=False) == ("", {})
    assert parse(coerce.text_field, _MISSING, required=False) == ("", {})
    assert parse(coerce.text_field, " ", required=False, accepts=coerce.STRINGS) == ("", {})


@pytest.mark.parametrize(
    ("raw", "strings", "numbers"),
    [
        ("名", ("名", {}), ("名", {})),
        (12, ("", {"f": "须为字符串。"}), ("12", {})),
        (3.5, ("", {"f": "须为字符串。"}), ("3.5", {})),
        (Decimal("2.50"), ("", {"f": "须为字符串。"}), ("2.50", {})),
        (True, ("", {"f": "须为字符串。"}), ("", {"f": "须为字符串。"})),
        (dt.date(2026, 1, 1), ("", {"f": "须为字符串。"}), ("", {"f": "须为字符串。"})),
        (["x"], ("", {"f": "须为字符串。"}), ("", {"f": "须为字符串。"})),
        ("\x00", ("", {"f": NUL}), ("", {"f": NUL})),
    ],
)
def test_text_strings_only_or_numbers_too(raw, strings, numbers):
    assert parse(coerce.text_field, raw, required=False, accepts=coerce.STRINGS) == strings
    assert parse(coerce.text_field, raw, required=False, accepts=coerce.NUMBERS) == numbers


def test_text_length_and_the_messages_a_caller_gives():
    assert parse(coerce.text_field, " " + "张" * 50 + " ", max_length=50) == ("张" * 50, {})
    assert parse(coerce.text_field, "张" * 51, max_length=50) == ("", {"f": "不能超过50个字符。"})
    too_long = parse(coerce.text_field, "x" * 301, max_length=300, too_long="备注不能超过300字。")
    assert too_long == ("", {"f": "备注不能超过300字。"})
    missing = parse(coerce.text_field, "", accepts=coerce.STRINGS, missing="请填写姓名。")
    assert missing == ("", {"f": "请填写姓名。"})


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "errors"),
    [
        ("2026-03-01", dt.date(2026, 3, 1), {}),
        (dt.date(2026, 3, 10), dt.date(2026, 3, 10), {}),
        (dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), dt.date(2026, 3, 1), {}),
        ("2026-03-11", None, {"f": "日期不能晚于今天。"}),
        ("2026-02-30", None, {"f": "日期格式不正确。"}),
        ("01/03/2026", None, {"f": "日期格式不正确。"}),
        (5, None, {"f": "日期格式不正确。"}),
        ("", None, {"f": "请填写日期。"}),
        (None, None, {"f": "请填写日期。"}),
    ],
)
def test_dates(raw, expected, errors):
    assert parse(coerce.date_field, raw, today=TODAY) == (expected, errors)


def test_date_options():
    assert parse(coerce.date_field, None, today=TODAY, required=False) == (None, {})
    # no today: a planned date may lie ahead
    assert parse(coerce.date_field, "2030-01-01", today=None) == (dt.date(2030, 1, 1), {})
    moment = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    assert parse(coerce.date_field, moment, today=None, allow_datetime=False) == (None, {"f": "请填写日期。"})
    messages = {"missing": "请填写实际落实日期。", "future": "实际落实日期不能晚于今天。"}
    assert parse(coerce.date_field, "", today=TODAY, **messages) == (None, {"f": "请填写实际落实日期。"})
    assert parse(coerce.date_field, "2026-04-01", today=TODAY, **messages) == (
        None,
        {"f": "实际落实日期不能晚于今天。"},
    )


# --- whole numbers and names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "errors"),
    [
        ("12", 12, {}),
        (0, 0, {}),
        ("x", None, {"f": "请填写整数。"}),
        (float("inf"), None, {"f": "请填写整数。"}),
        (None, None, {"f": "请填写整数。"}),
        (-1, None, {"f": "不能小于0。"}),
    ],
)
def test_whole_numbers(raw, expected, errors):
    assert parse(coerce.int_field, raw) == (expected, errors)


def test_names():
    assert coerce.names_field("张三，李四, ") == ["张三", "李四"]
    assert coerce.names_field(["王五", " "]) == ["王五"]
    assert coerce.names_field(None) == []
    assert coerce.names_field([1]) is None
    assert coerce.names_field(["a\x00"]) is None

"""Citizen ID numbers (GB 11643-1999): parsing, refusals with their own messages, masking."""

import datetime as dt

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from households import idnumber

SAMPLE = "11010519491231002X"  # the standard's own example
TODAY = dt.date(2025, 6, 15)


def _first17(region: str, birth: str, seq: str) -> str:
    return f"{region}{birth}{seq}"


def _with_check(first17: str) -> str:
    """A number whose check character is right, whatever the rest says."""
    return first17 + idnumber.check_char(first17)


def _error(raw: str, **kwargs) -> str:
    with translation.override("zh-hans"), pytest.raises(idnumber.IDNumberError) as exc:
        idnumber.parse(raw, today=kwargs.pop("today", TODAY), **kwargs)
    return str(exc.value.message)


# --- valid numbers -------------------------------------------------------------------------


def test_sample_parses():
    info = idnumber.parse(SAMPLE, today=TODAY)
    assert info.number == SAMPLE
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "F"  # sequence 002: even
    assert info.region_code == "110105"


def test_odd_sequence_is_male():
    number = _with_check(_first17("130727", "19800101", "013"))
    assert idnumber.parse(number, today=TODAY).sex == "M"


def test_lower_case_x_is_accepted_and_normalised():
    info = idnumber.parse(SAMPLE.lower(), today=TODAY)
    assert info.number == SAMPLE
    assert idnumber.normalize("11010519491231002x") == SAMPLE


def test_spaces_are_dropped():
    assert idnumber.parse(" 110105 19491231 002X ", today=TODAY).number == SAMPLE


def test_full_width_digits_are_read_as_ascii():
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    info = idnumber.parse(full_width, today=TODAY)
    assert info.number == SAMPLE  # stored in ASCII, so the uniqueness check sees one person


def test_born_today_is_accepted():
    number = _with_check(_first17("130727", TODAY.strftime("%Y%m%d"), "021"))
    assert idnumber.parse(number, today=TODAY).birth_date == TODAY


def test_leap_day_is_a_valid_birth_date():
    number = _with_check(_first17("130727", "20000229", "021"))
    assert idnumber.parse(number, today=TODAY).birth_date == dt.date(2000, 2, 29)


def test_is_valid():
    assert idnumber.is_valid(SAMPLE)
    assert not idnumber.is_valid("110105194912310021")
    assert not idnumber.is_valid("")
    assert not idnumber.is_valid(None)


def test_default_today_is_the_local_calendar_day():
    today = timezone.localdate()  # the deployment's calendar (Asia/Shanghai)
    number = _with_check(_first17("130727", today.strftime("%Y%m%d"), "021"))
    assert idnumber.parse(number).birth_date == today


# --- refusals, each with its own message -----------------------------------------------------


def test_wrong_check_digit():
    assert _error("110105194912310021") == "公民身份号码校验位错误，请核对。"
    assert _error("110105194912310020") == "公民身份号码校验位错误，请核对。"


@pytest.mark.parametrize(
    "birth",
    ["19900230", "19900231", "19901301", "19900001", "19900100", "19010229", "19001301"],
    ids=["feb-30", "feb-31", "month-13", "month-0", "day-0", "1901-no-leap-day", "1900-month-13"],
)
def test_bad_birth_date(birth):
    number = _with_check(_first17("130727", birth, "021"))
    assert _error(number) == "公民身份号码中的出生日期无效。"


def test_birth_date_before_1890_is_invalid():
    number = _with_check(_first17("130727", "18891231", "021"))
    assert _error(number) == "公民身份号码中的出生日期无效。"


def test_birth_date_in_the_future():
    tomorrow = TODAY + dt.timedelta(days=1)
    number = _with_check(_first17("130727", tomorrow.strftime("%Y%m%d"), "021"))
    assert _error(number) == "公民身份号码中的出生日期晚于今天。"
    # The same number is fine a day later.
    assert idnumber.parse(number, today=tomorrow).birth_date == tomorrow


def test_fifteen_digit_legacy_number_has_its_own_message():
    assert _error("110105491231002") == "这是15位旧版身份证号码，请填写18位公民身份号码。"


@pytest.mark.parametrize(
    "raw", ["", "11010519491231", "1101051949123100", "11010519491231002", "11010519491231002X1"]
)
def test_wrong_length(raw):
    assert _error(raw) == "公民身份号码应为18位。"


def test_fifteen_characters_with_a_letter_is_a_length_error_not_legacy():
    assert _error("11010549123100X") == "公民身份号码应为18位。"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002A",  # letter other than X at the end
        "1101051949123100X2",  # X not at the end
        "A1010519491231002X",
        "110105-9491231002X",
        "²10105194912310020",  # str.isdigit() says yes, int() says no
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
    ],
)
def test_letters_and_other_characters(raw):
    assert _error(raw) == "公民身份号码前17位须为数字，最后一位为数字或X。"


def test_errors_are_id_number_errors_and_value_errors():
    with pytest.raises(ValueError):
        idnumber.parse("not a number")


# --- make, check_char -------------------------------------------------------------------------


def test_check_char_of_the_sample():
    assert idnumber.check_char(SAMPLE[:17]) == "X"


def test_make_builds_the_sample():
    assert idnumber.make("110105", dt.date(1949, 12, 31), 2) == SAMPLE


# --- masking --------------------------------------------------------------------------------


def test_mask_keeps_first_six_and_last_four():
    assert idnumber.mask(SAMPLE) == "110105********002X"
    assert idnumber.mask("") == ""
    assert idnumber.mask("1234567890") == "**********"
    assert idnumber.mask("12345678901") == "123456*8901"


def test_mask_phone():
    assert idnumber.mask_phone("13812345678") == "138****5678"
    assert idnumber.mask_phone("") == ""
    assert idnumber.mask_phone("12345") == "*****"


def test_age_on():
    birth = dt.date(1980, 6, 15)
    assert idnumber.age_on(birth, dt.date(2025, 6, 14)) == 44
    assert idnumber.age_on(birth, dt.date(2025, 6, 15)) == 45


# --- properties -----------------------------------------------------------------------------

regions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
births = st.dates(min_value=dt.date(1890, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(region=regions, birth=births, sequence=sequences)
def test_made_numbers_parse_back(region, birth, sequence):
    number = idnumber.make(region, birth, sequence)
    info = idnumber.parse(number, today=TODAY)
    assert info.number == number
    assert info.birth_date == birth
    assert info.sex == ("M" if sequence % 2 else "F")
    assert info.region_code == region
    assert idnumber.parse(number.lower(), today=TODAY).number == number


@given(
    region=regions,
    birth=births,
    sequence=sequences,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from("0123456789X"),
)
def test_any_single_character_change_is_detected(region, birth, sequence, position, replacement):
    number = idnumber.make(region, birth, sequence)
    if position < 17 and replacement == "X":
        replacement = "0"
    if replacement == number[position]:
        replacement = "1" if number[position] != "1" else "2"
    changed = number[:position] + replacement + number[position + 1 :]
    assert changed != number
    assert not idnumber.is_valid(changed)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_mask_reveals_at_most_first_six_and_last_four(text):
    masked = idnumber.mask(text)
    assert len(masked) == len(text)
    if len(text) <= 10:
        assert masked == "*" * len(text)
    else:
        assert masked[:6] == text[:6]
        assert masked[-4:] == text[-4:]
        assert set(masked[6:-4]) == {"*"}


@given(region=regions, birth=births, sequence=sequences)
def test_mask_of_a_valid_number_hides_birth_date_and_sequence(region, birth, sequence):
    number = idnumber.make(region, birth, sequence)
    masked = idnumber.mask(number)
    assert masked == number[:6] + "********" + number[-4:]

"""Phone numbers typed by customers: what is accepted, how it is stored, masked and shown."""

from __future__ import annotations

import pytest

from bot.domain.phone import PhoneError, format_phone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("  138 1234 5678 ", "+8613812345678"),
        ("0086 138 1234 5678", "+8613812345678"),
        ("010-6552 9988", "+861065529988"),  # Beijing landline
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        # Full-width forms Chinese IMEs produce: digits, plus, dash and ideographic space.
        ("１３８１２３４５６７８", "+8613812345678"),
        ("＋８６　１３８　１２３４　５６７８", "+8613812345678"),
        ("１３８－１２３４－５６７８", "+8613812345678"),
    ],
)
def test_valid_numbers_are_stored_as_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345", "invalid"),
        ("abc", "not_a_number"),
        ("", "empty"),
        ("   ", "empty"),
        ("+86 123", "invalid"),
        ("1381234567", "invalid"),  # one digit short
        ("138 1234 5678 abc", "invalid"),
        ("1" * 100, "invalid"),
    ],
)
def test_invalid_numbers_are_refused_with_an_example(raw: str, reason: str) -> None:
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw)
    assert info.value.reason == reason
    assert info.value.example == "13812345678"
    assert info.value.example_international == "+86 138 1234 5678"
    assert isinstance(info.value, ValueError)


def test_the_example_is_itself_accepted() -> None:
    with pytest.raises(PhoneError) as info:
        normalize_phone("12345")
    assert normalize_phone(info.value.example) == "+8613812345678"


def test_other_default_region() -> None:
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"
    with pytest.raises(PhoneError) as info:
        normalize_phone("12345", default_region="GB")
    # The example for another region is a valid number of that region.
    assert normalize_phone(info.value.example, default_region="GB").startswith("+44")
    assert info.value.example_international.startswith("+44 ")


def test_unknown_region_is_a_configuration_error_not_a_phone_error() -> None:
    with pytest.raises(ValueError) as info:
        normalize_phone("13812345678", default_region="XX")
    assert not isinstance(info.value, PhoneError)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("+861065529988", "+86 106***9988"),  # CN landline keeps its country code
        ("+442079460958", "+44 207***0958"),
        ("+16502530000", "+1 650***0000"),
    ],
)
def test_mask(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+8613812345678", "+86 138 1234 5678"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+16502530000", "+1 650-253-0000"),
    ],
)
def test_format(e164: str, shown: str) -> None:
    assert format_phone(e164) == shown


def test_mask_and_format_refuse_garbage() -> None:
    with pytest.raises(ValueError):
        mask_phone("not a number")
    with pytest.raises(ValueError):
        format_phone("")

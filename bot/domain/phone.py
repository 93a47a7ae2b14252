"""Phone numbers typed by customers: validate, store as E.164, mask and format for display."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

# The example shown to customers in the default region. phonenumbers' own CN example
# (131 2345 6789) is fine too, but 138… is the one every Chinese form uses.
_EXAMPLES: dict[str, str] = {"CN": "+8613812345678"}
# phonenumbers refuses longer input anyway; checking first keeps a pasted essay out of the parser.
_MAX_INPUT = 64


class PhoneError(ValueError):
    """A phone number that cannot be accepted; `example` shows one that would be."""

    def __init__(self, message: str, *, reason: str, example: str, example_international: str):
        super().__init__(message)
        # `reason` is a stable code ("empty", "not_a_number", "invalid") for picking the
        # catalog text; the message itself is for logs.
        self.reason = reason
        self.example = example
        self.example_international = example_international


def _example(region: str) -> phonenumbers.PhoneNumber:
    known = _EXAMPLES.get(region)
    if known is not None:
        return phonenumbers.parse(known, None)
    # Mobiles are what customers have at hand; fall back to any example for odd regions.
    number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if number is None:
        number = phonenumbers.example_number(region)
    if number is None:
        raise ValueError(f"unknown phone region {region!r}")
    return number


def _error(message: str, reason: str, region: str) -> PhoneError:
    example = _example(region)
    national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    if region == "CN":
        # Chinese customers type a mobile as eleven digits with no spaces.
        national = national.replace(" ", "")
    return PhoneError(
        message,
        reason=reason,
        example=national,
        example_international=phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL),
    )


def normalize_phone(raw: str, default_region: str = "CN") -> str:
    """Validate a typed phone number and return it in E.164; raise PhoneError if it is not one."""
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        # A configuration mistake, not the customer's: fail loudly and differently.
        raise ValueError(f"unknown phone region {default_region!r}")
    text = (raw or "").strip()
    if not text:
        raise _error("no phone number given", "empty", region)
    if len(text) > _MAX_INPUT:
        raise _error("phone number is too long", "invalid", region)
    try:
        # phonenumbers already folds full-width digits, ＋, － and ideographic spaces that
        # Chinese IMEs produce (１３８－１２３４－５６７８ parses), so no NFKC pass is needed.
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise _error(f"{raw!r} is not a phone number", "not_a_number", region) from exc
    # is_possible_number only checks the length; is_valid_number checks the number plan,
    # which is what refuses "+86 123" and "12345".
    if not phonenumbers.is_valid_number(number):
        raise _error(f"{raw!r} is not a valid phone number", "invalid", region)
    # E.164 has no room for an extension; a callback number without it still reaches the
    # switchboard, and the customer can say the extension to the steward.
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse_stored(e164: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise ValueError(f"{e164!r} is not a stored E.164 number") from exc


def mask_phone(e164: str) -> str:
    """Hide the middle of a stored number for staff lists: "+8613812345678" -> "138****5678"."""
    number = _parse_stored(e164)
    national = str(number.national_number)
    is_cn_mobile = number.country_code == 86 and phonenumbers.number_type(number) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    masked = _mask_digits(national)
    # Everyone in China recognises 138****5678 as a mobile; the +86 would only add noise.
    return masked if is_cn_mobile else f"+{number.country_code} {masked}"


def _mask_digits(digits: str) -> str:
    n = len(digits)
    if n > 7:
        return digits[:3] + "*" * (n - 7) + digits[-4:]
    # Short numbers would be shown whole by "first 3 + last 4"; keep only the last few.
    keep = 4 if n > 5 else 2
    return "*" * (n - keep) + digits[-keep:]


def format_phone(e164: str) -> str:
    """A stored number in international format for display ("+86 138 1234 5678")."""
    return phonenumbers.format_number(_parse_stored(e164), PhoneNumberFormat.INTERNATIONAL)

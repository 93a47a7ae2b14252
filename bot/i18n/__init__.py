"""Message catalogs (zh_CN, en): every text the bot sends comes from here."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
_DIR = Path(__file__).parent


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flat key → text mapping of one language."""
    with (_DIR / f"{lang}.toml").open("rb") as f:
        return _flatten(tomllib.load(f))


def _flatten(d: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)
    return out


def t(lang: str, key: str, /, **values: object) -> str:
    """The text for `key` in `lang` (falling back to Chinese), formatted with `values`."""
    texts = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    text = texts.get(key) or catalog(DEFAULT_LANGUAGE)[key]
    return text.format(**values) if values else text


def when(lang: str, local: datetime) -> str:
    """A local time as people read it: "3月12日 周四 09:30" / "Thu 12 Mar, 09:30"."""
    weekdays = t(lang, "time.weekdays").split(",")
    months = t(lang, "time.months").split(",")
    return t(lang, "time.format", month_name=months[local.month - 1], month=local.month,
             day=local.day, weekday=weekdays[local.weekday()], hm=f"{local:%H:%M}")


def language_for(language_code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Pick a catalog from Telegram's language_code: zh* → Chinese, other codes → English."""
    if not language_code:
        return default
    return "zh_CN" if language_code.lower().startswith("zh") else "en"

"""Short opaque callback data for the customer's buttons: "c:<action>[:<arg>]", under 64 bytes.

The data only says which button was pressed; services re-check it against the database and the
draft (a ticket id is looked up among the presser's own tickets, a step against the draft).
"""

from __future__ import annotations

PREFIX = "c"
PATTERN = r"^c:"  # the customer's buttons; staff buttons use their own prefix
MAX_BYTES = 64

# Actions: menu, language, intake steps, tickets.
FILE, MINE, LANG, SET_LANG = "file", "mine", "lang", "setlang"
CATEGORY, CATEGORIES, DONE, OUTCOME, OPTION = "cat", "cats", "done", "out", "opt"
PROFILE_NAME, PREVIOUS, ABOUT = "pname", "prev", "abt"
CONFIRM, CHANGE, FIELD, BACK, CANCEL = "ok", "chg", "f", "back", "cancel"
SHOW, URGE, ATTACH = "t", "u", "to"


def make(action: str, arg: str | int = "") -> str:
    """Encode a button; refuses anything Telegram would reject (over 64 bytes)."""
    data = f"{PREFIX}:{action}:{arg}" if arg != "" else f"{PREFIX}:{action}"
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> tuple[str, str] | None:
    """Decode a button into (action, arg); None for anything that is not ours."""
    if not data or not data.startswith(PREFIX + ":") or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    _, _, rest = data.partition(":")
    action, _, arg = rest.partition(":")
    return (action, arg) if action else None

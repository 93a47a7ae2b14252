"""E-mail addresses as the desk accepts them: bare, one per entry, safe in a mail header."""

from __future__ import annotations

_NEVER = frozenset('<>,;"') | frozenset(" \t\r\n\x0b\x0c")


def address(value: str) -> str:
    """The address stripped; ValueError unless it is one bare local@domain address."""
    v = value.strip()
    local, _, domain = v.partition("@")
    # A display name, a list or a line break could forge headers or add hidden recipients.
    if not local or not domain or v.count("@") != 1 or _NEVER & set(v):
        raise ValueError(f"{v!r} is not an e-mail address; write e.g. \"desk@example.com\"")
    return v


def addresses(values: list[str] | tuple[str, ...], *, besides: tuple[str, ...] = ()) -> list[str]:
    """Checked addresses in order, each once (case-insensitively), leaving out `besides`."""
    seen = {b.casefold() for b in besides}
    out: list[str] = []
    for v in values:
        a = address(v)
        if a.casefold() not in seen:
            seen.add(a.casefold())
            out.append(a)
    return out

"""Telegram-style HTML parse_mode: check the markup and turn it into plain text + entities.

Stricter than Telegram in one respect, on purpose: a bare ``&`` that does not start one of the
supported entities is rejected, so unescaped user text is caught in tests.
"""

from __future__ import annotations

import re
from typing import Any

_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "code": "code",
    "pre": "pre", "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_START = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_ATTR = re.compile(r"""\s+([a-zA-Z_-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")
_END = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_TAIL = re.compile(r"\s*>")


class HtmlError(ValueError):
    """Markup Telegram would refuse; ``str(err)`` is the text after "can't parse entities: "."""


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (Telegram's entity unit)."""
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF) if not s.isascii() else len(s)


def _byte_offset(src: str, i: int) -> int:
    return len(src[:i].encode("utf-8"))


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return (plain text, entities) or raise HtmlError."""
    if "<" not in src and "&" not in src:
        return src, []
    out: list[str] = []
    pos = 0  # utf-16 position in the output text
    stack: list[tuple[str, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        m = _SPECIAL.search(src, i)
        j = m.start() if m else n
        if j > i:
            chunk = src[i:j]
            out.append(chunk)
            pos += utf16_len(chunk)
        if j >= n:
            break
        if src[j] == "&":
            em = _ENTITY.match(src, j)
            if not em:
                raise HtmlError(f'Unescaped "&" at byte offset {_byte_offset(src, j)}')
            code, hexcode, name = em.groups()
            ch = _NAMED[name] if name else chr(int(code) if code else int(hexcode, 16))
            out.append(ch)
            pos += utf16_len(ch)
            i = em.end()
        elif src.startswith("</", j):
            i = _close(src, j, pos, stack, entities)
        else:
            i = _open(src, j, pos, stack)
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _open(src: str, j: int, pos: int, stack: list[tuple[str, dict[str, Any]]]) -> int:
    m = _START.match(src, j)
    if not m:
        raise HtmlError(f'Unsupported start tag "" at byte offset {_byte_offset(src, j)}')
    tag = m.group(1).lower()
    if tag not in _SIMPLE:
        raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, j)}')
    attrs: dict[str, str] = {}
    k = m.end()
    while am := _ATTR.match(src, k):
        val = am.group(2) or ""
        attrs[am.group(1).lower()] = val[1:-1] if val[:1] in "\"'" and val else val
        k = am.end()
    tail = _TAIL.match(src, k)
    if not tail:
        raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(src, j)}")
    ent: dict[str, Any] = {"type": _SIMPLE[tag], "offset": pos}
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlError('Tag "span" must have class "tg-spoiler"')
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            ent["type"] = None  # Telegram keeps the text and drops a link without href
        ent["url"] = href
    elif tag == "tg-emoji":
        if "emoji-id" not in attrs:
            raise HtmlError('Custom emoji entity must contain a tag "emoji-id"')
        ent["custom_emoji_id"] = attrs["emoji-id"]
    elif tag == "blockquote" and "expandable" in attrs:
        ent["type"] = "expandable_blockquote"
    elif tag == "code" and attrs.get("class", "").startswith("language-"):
        ent["language"] = attrs["class"][len("language-"):]
    stack.append((tag, ent))
    return tail.end()


def _close(
    src: str, j: int, pos: int, stack: list[tuple[str, dict[str, Any]]],
    entities: list[dict[str, Any]],
) -> int:
    m = _END.match(src, j)
    if not m:
        raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(src, j)}")
    tag = m.group(1).lower()
    if not stack:
        raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(src, j)}")
    if stack[-1][0] != tag:
        raise HtmlError(
            f"Unmatched end tag at byte offset {_byte_offset(src, j)}, "
            f'expected "</{stack[-1][0]}>", found "</{tag}>"'
        )
    _, ent = stack.pop()
    lang = ent.pop("language", None) if tag == "code" else None
    if tag == "code" and lang and stack and stack[-1][0] == "pre":
        stack[-1][1]["language"] = lang  # <pre><code class="language-x"> is one pre entity
        return m.end()
    ent["length"] = pos - ent["offset"]
    if ent["type"] and ent["length"] > 0:
        entities.append(ent)
    return m.end()

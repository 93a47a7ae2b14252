"""Cutting long HTML texts into messages Telegram accepts, counting as Telegram counts.

Telegram limits a message's text to 4,096 and a caption to 1,024 UTF-16 code units of visible
text (after the HTML is parsed into entities). Nothing a person wrote may be lost to a limit, so
long texts are sent as several messages in order: cut at the best boundary near the limit (a
paragraph, a line, a sentence, a word), never inside a tag, an entity (`&amp;`) or a character
outside the BMP (which counts as two units); a tag open across a cut is closed at the end of one
part and opened again at the start of the next, so each part is valid HTML on its own.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# A tag, an entity, or one character (a non-BMP character is one Python character).
_TOKEN = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|.", re.S)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z0-9-]+)")
# Where a cut reads best, best first; a cut goes *after* the token.
PARAGRAPH, LINE, SENTENCE, WORD = 4, 3, 2, 1
_SENTENCE_END = set("。!?;…!?;")
_LATIN_SENTENCE_END = set(".!?;:")
_CLAUSE = set(",、,")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (characters outside the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


def visible_len(html_text: str) -> int:
    """Visible length of HTML in UTF-16 units (tags count nothing, an entity its character)."""
    return sum(_units(tok) for tok in _TOKEN.findall(html_text))


def _units(tok: str) -> int:
    if len(tok) > 1 and tok[0] == "<":
        return 0
    if len(tok) > 1 and tok[0] == "&":
        return utf16_len(html.unescape(tok))
    return 2 if ord(tok) > 0xFFFF else 1


def _is_tag(tok: str) -> bool:
    return len(tok) > 1 and tok[0] == "<"


def _is_open_tag(tok: str) -> bool:
    return _is_tag(tok) and not tok.startswith("</")


@dataclass
class _Cut:
    at: int  # token index the next part starts at
    units: int  # visible units before the cut
    stack: tuple[str, ...]  # opening tags still open at the cut


def _rank(tokens: list[str], j: int) -> int:
    """How good a cut right after token j is (0: not a boundary)."""
    tok = tokens[j]
    prev = tokens[j - 1] if j > 0 else ""
    if tok == "\n":
        return PARAGRAPH if prev == "\n" else LINE
    if tok in _SENTENCE_END or (tok == " " and prev in _LATIN_SENTENCE_END):
        return SENTENCE
    if tok == " " or tok in _CLAUSE:
        return WORD
    return 0


def _push(stack: tuple[str, ...], tok: str) -> tuple[str, ...]:
    if not _is_tag(tok):
        return stack
    if _is_open_tag(tok):
        return (*stack, tok)
    name = _TAG_NAME.match(tok)
    for k in range(len(stack) - 1, -1, -1):  # close the innermost tag of that name
        opened = _TAG_NAME.match(stack[k])
        if name and opened and opened.group(1).lower() == name.group(1).lower():
            return stack[:k] + stack[k + 1:]
    return stack


def _closing(stack: tuple[str, ...]) -> str:
    names = [m.group(1) for m in (_TAG_NAME.match(s) for s in reversed(stack)) if m]
    return "".join(f"</{n}>" for n in names)


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut HTML into parts of at most `limit` visible UTF-16 units each, in order."""
    if limit < 2:
        raise ValueError("limit must leave room for a character outside the BMP")
    tokens = _TOKEN.findall(text)
    parts: list[str] = []
    i, stack = 0, tuple[str, ...]()
    while i < len(tokens):
        start_stack = stack
        units, j, best = 0, i, {r: _Cut(i, 0, stack) for r in (PARAGRAPH, LINE, SENTENCE, WORD)}
        while j < len(tokens):
            u = _units(tokens[j])
            if units + u > limit:
                break
            units += u
            stack = _push(stack, tokens[j])
            rank = _rank(tokens, j)
            if rank:
                best[rank] = _Cut(j + 1, units, stack)
            j += 1
        cut = _Cut(j, units, stack)
        if j < len(tokens):
            for rank in (PARAGRAPH, LINE, SENTENCE, WORD):
                if best[rank].at > i and best[rank].units >= limit // 2:
                    cut = best[rank]
                    break
            # An opening tag right before the cut belongs with the text it opens.
            while cut.at > i + 1 and _is_open_tag(tokens[cut.at - 1]):
                cut = _Cut(cut.at - 1, cut.units, cut.stack[:-1])
        parts.append("".join(start_stack) + "".join(tokens[i:cut.at]) + _closing(cut.stack))
        i, stack = cut.at, cut.stack
    return parts

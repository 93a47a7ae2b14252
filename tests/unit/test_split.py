"""The splitter: every part within Telegram's limit as Telegram counts, nothing lost or broken."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.emulator.html import parse_html
from handlers.split import CAPTION_LIMIT, TEXT_LIMIT, split_html, utf16_len

# Chinese, Latin, emoji outside the BMP (two UTF-16 units), the characters HTML escapes,
# whitespace and the punctuation the splitter likes to cut at.
ALPHABET = st.sampled_from(list("漏水天花板泡了abcXYZ 0。,!?.\n&<>\"'") + ["😀", "𠀋", "👍", "🏽"])
PLAIN = st.text(alphabet=ALPHABET, min_size=0, max_size=400)
LIMITS = st.integers(min_value=2, max_value=60)
TAGS = st.sampled_from(["b", "i", "blockquote", "u"])


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


@st.composite
def markup(draw: st.DrawFn, depth: int = 2) -> str:
    """Rendered HTML as ours is: escaped text, some of it inside (nested) tags."""
    pieces = []
    for _ in range(draw(st.integers(0, 4))):
        text = _esc(draw(PLAIN))
        if depth and draw(st.booleans()):
            tag = draw(TAGS)
            inner = draw(markup(depth - 1)) if draw(st.booleans()) else text
            text = f"<{tag}>{inner}</{tag}>"
        pieces.append(text)
    return "".join(pieces)


def _check_parts(parts: list[str], limit: int) -> str:
    """Every part is valid Telegram HTML within the limit; returns the visible text joined."""
    visible = []
    for part in parts:
        text, _ = parse_html(part)  # raises on a broken tag or entity
        assert utf16_len(text) <= limit, (limit, part)
        visible.append(text)
    return "".join(visible)


@settings(max_examples=300, deadline=None)
@given(PLAIN, LIMITS)
def test_plain_text_joins_back_to_the_original(raw: str, limit: int) -> None:
    text = _esc(raw)
    parts = split_html(text, limit)
    assert "".join(parts) == text
    assert all(parts)
    assert _check_parts(parts, limit) == raw
    for a, b in zip(parts, parts[1:], strict=False):  # no surrogate pair or entity cut in two
        assert not ("\ud800" <= a[-1] <= "\udbff") and not b.startswith(";")


@settings(max_examples=300, deadline=None)
@given(markup(), LIMITS)
def test_markup_parts_are_valid_and_keep_every_visible_character(text: str, limit: int) -> None:
    parts = split_html(text, limit)
    assert _check_parts(parts, limit) == parse_html(text)[0]


def test_short_text_is_one_part() -> None:
    assert split_html("您好 <b>李雷</b>") == ["您好 <b>李雷</b>"]


def test_cuts_at_a_paragraph_then_a_line_then_a_sentence() -> None:
    para = "第一段。" * 300 + "\n\n" + "第二段。" * 300
    assert split_html(para, 1500) == ["第一段。" * 300 + "\n\n", "第二段。" * 300]
    lines = "a" * 900 + "\n" + "b" * 900
    assert split_html(lines, 1000) == ["a" * 900 + "\n", "b" * 900]
    sentences = "Hello there. " * 100
    first = split_html(sentences, 100)[0]
    assert first.endswith(". ") and len(first) <= 100


def test_a_tag_open_across_the_cut_is_closed_and_reopened() -> None:
    story = _esc("楼上漏水 & 天花板都泡了。" * 400)
    parts = split_html(f"您说的是:\n<blockquote>{story}</blockquote>\n是这样吗?", TEXT_LIMIT)
    assert len(parts) == 2
    assert parts[0].endswith("</blockquote>") and parts[1].startswith("<blockquote>")
    assert _check_parts(parts, TEXT_LIMIT) == parse_html(f"您说的是:\n<blockquote>{story}"
                                                         f"</blockquote>\n是这样吗?")[0]


def test_emoji_count_twice() -> None:
    parts = split_html("😀" * 1000, CAPTION_LIMIT)
    assert [len(p) for p in parts] == [512, 488]

"""Links into the staff group that people are sent (pure: ids in, a t.me address out)."""

from __future__ import annotations


def topic_link(chat_id: int, thread_id: int | None) -> str | None:
    """A t.me link to a topic of a supergroup (ids -100…)."""
    s = str(chat_id)
    if not s.startswith("-100") or thread_id is None:
        return None
    return f"https://t.me/c/{s[4:]}/{thread_id}"

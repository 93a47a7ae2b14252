"""What a failed delivery means for the chat it went to (pure: reads the stored reason)."""

from __future__ import annotations

# The stored reason of a call refused because its group became a supergroup: prefix + new id.
MIGRATED = "migrated to "
# What Telegram says when the bot can no longer post in a chat at all (gone, kicked, no rights).
_UNREACHABLE = ("chat not found", "kicked", "not a member", "not enough rights",
                "have no rights", "chat_write_forbidden", "chat_admin_required",
                "need administrator rights", "forbidden")


def migrated_reason(new_chat_id: int) -> str:
    """The reason stored for a call refused because its group was upgraded."""
    return f"{MIGRATED}{new_chat_id}"


def migrated_to(reason: str) -> int | None:
    """The supergroup's new id when a call failed because its group was upgraded."""
    if reason.startswith(MIGRATED):
        rest = reason[len(MIGRATED):]
        if rest.lstrip("-").isdigit():
            return int(rest)
    return None


def chat_unreachable(reason: str) -> bool:
    """Whether a failure means the bot cannot post in that chat (not a problem of one message)."""
    text = reason.lower()
    return any(p in text for p in _UNREACHABLE)

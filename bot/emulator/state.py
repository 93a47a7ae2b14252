"""In-memory state of the emulated Telegram: chats, messages, files, topics."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any

from .html import utf16_len

SERVICE_KEYS = frozenset({"forum_topic_created", "forum_topic_edited", "forum_topic_closed",
                          "forum_topic_reopened"})
CONTENT_KEYS = ("text", "entities", "photo", "document", "voice", "sticker", "contact",
                "caption", "caption_entities")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
DEFAULT_ICON_COLOR = 7322096


@dataclass
class Chat:
    """A private chat, group or supergroup with its messages and forum topics."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    blocked: bool = False  # private chat: the user blocked the bot
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Sent with a reply keyboard, its removal or force_reply: Telegram refuses to edit these.
    fixed: set[int] = field(default_factory=set)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1
    _dict: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The Chat object as Telegram sends it inside a Message."""
        if self._dict is None:
            d: dict[str, Any] = {"id": self.id, "type": self.type}
            for k in ("title", "username", "first_name", "last_name"):
                if getattr(self, k):
                    d[k] = getattr(self, k)
            if self.is_forum:
                d["is_forum"] = True
            self._dict = d
        return self._dict

    def new_id(self) -> int:
        """Allocate the next message id of this chat."""
        n = self.next_id
        self.next_id += 1
        return n


@dataclass
class StoredFile:
    """An uploaded file; ``meta`` holds the object fields (sizes, mime type, name)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)

    def as_file(self) -> dict[str, Any]:
        """The File object getFile returns."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.data), "file_path": self.file_path}


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities Telegram adds to a user's text (offsets in UTF-16 units)."""
    if "/" not in text:
        return []
    return [{"type": "bot_command", "offset": utf16_len(text[: m.start()]),
             "length": utf16_len(m.group())} for m in _COMMAND.finditer(text)]


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG (640x480 when unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            seg = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + seg
    return 640, 480


def strip_service(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop service messages (topic created etc.)."""
    return [m for m in messages if not SERVICE_KEYS.intersection(m)]

"""A local Telegram Bot API server (aiohttp) checked against the Bot API 10.0 spec.

Real python-telegram-bot talks to it over HTTP::

    emu = Emulator(token="123456:TEST", limits=Limits.off())
    await emu.start(host="127.0.0.1", port=0)
    bot = Bot(emu.token, base_url=f"{emu.base_url}/bot",
              base_file_url=f"{emu.base_url}/file/bot")
    user = emu.user(5001, first_name="李雷", language_code="zh-hans")
    await user.send_text("/start")            # an Update for getUpdates / the webhook
    msgs = await emu.wait_for_sent(5001)      # what the bot answered

Python control API: ``user()``, ``create_group()``, ``create_topic()``, ``EmuUser.send_text /
send_photo / send_document / send_voice / send_sticker / send_contact / edit_text / press /
block``, ``sent()``, ``wait_for_sent()``, ``callback_answers()``, ``topics()``, ``add_fault()``,
``clear_faults()``, ``upgrade_group()``, ``calls`` / ``reset_calls()``, ``pending_updates()``,
``set_limits()``, ``stop()``; for benchmarks ``events()`` / ``wait_events()`` (what the bot
sent, timestamped), ``call_counts`` and ``latency`` (seconds every Bot API call is held).
The same over HTTP under ``/_emu/`` is documented in ``bot.emulator.control``.

Behaviour notes: rate limits count message-sending methods (send* except sendChatAction,
copy*/forward*, editMessage*): ``per_chat_per_second`` applies to private chats,
``per_group_per_minute`` to groups, ``overall_per_second`` to all. A "timeout" fault holds the
request for ``delay`` seconds (or until stop) and then answers 504 without side effects; a
"delivered_timeout" fault does the call first (the message is sent), then holds and answers
504 — the answer lost after delivery; "query_too_old" refuses an answerCallbackQuery as
Telegram does after its deadline. Other fault kinds: ``429``, ``5xx``, ``blocked``,
``chat_not_found``, ``kicked``, ``not_enough_rights`` and ``migrated`` (with
``migrate_to_chat_id``, answered in ``parameters`` as Telegram does).
HTML parse_mode is checked strictly (a bare ``&`` is refused, unlike Telegram).
Standalone: ``python -m bot.emulator --host 127.0.0.1 --port 8081 --token 123:ABC [--no-limits]
[--latency-ms 50]``.
"""

from .emulator import CallRecord, Emulator, EmuUser, Fault
from .limits import Limits
from .schema import ApiError
from .state import Chat

__all__ = ["ApiError", "CallRecord", "Chat", "EmuUser", "Emulator", "Fault", "Limits"]

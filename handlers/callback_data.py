"""Which callback queries are whose: the patterns PTB routes on, over the one codec in
bot.domain.buttons (the customer's buttons "c:…", staff buttons "s:…")."""

from __future__ import annotations

from bot.domain.buttons import Side

CUSTOMER_PATTERN = rf"^{Side.CUSTOMER}:"
STAFF_PATTERN = rf"^{Side.STAFF}:"

#!/usr/bin/env bash
# Sets up (first run: a .venv with the project) and runs the bot.
# With TELEGRAM_BOT_TOKEN set it serves Telegram; without it, the local sandbox in this terminal.
# Usage: ./run.sh [complaint-bot run arguments]
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed-run-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e .
  touch "$stamp"
fi
exec .venv/bin/complaint-bot "$@" run

"""Telegram-facing handlers: parse the update, authorise, call one service, render."""

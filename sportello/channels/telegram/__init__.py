"""The Telegram channel: `build_bot(settings, services)` and `running_bot` (see bot.py)."""

"""Telegram channel tests: the real bot against a fake Bot API server on loopback."""

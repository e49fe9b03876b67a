"""Channels: thin edges (web, Telegram) that parse input, call one service and render."""

"""Conversations: every message in and out, feedback, and the gaps report for staff."""

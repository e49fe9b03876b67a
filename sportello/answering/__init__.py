"""Answering: guards, follow-up context, the answer/clarify/escalate/refuse decision, composers."""

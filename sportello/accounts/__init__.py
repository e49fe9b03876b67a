"""Accounts: staff and expert users, Argon2id passwords, server-side web sessions, lock-out."""

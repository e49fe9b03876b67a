"""The outbox's e-mail sender: messages built with the standard `email` package, sent by SMTP."""

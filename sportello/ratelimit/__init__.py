"""How fast a volunteer may write: one limit for every chat channel, kept in the database."""

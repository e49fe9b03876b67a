"""Database plumbing: declarative Base, engine and session factory, Alembic migrations."""

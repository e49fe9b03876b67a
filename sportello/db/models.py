"""Import every domain's ORM models so Base.metadata is complete (Alembic, tests)."""

from sportello.conversations import models as conversation_models  # noqa: F401
from sportello.db.base import Base
from sportello.knowledge import models as knowledge_models  # noqa: F401

__all__ = ["Base"]

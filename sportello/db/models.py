"""Import every domain's ORM models so Base.metadata is complete (Alembic, tests)."""

from sportello.accounts import models as account_models  # noqa: F401
from sportello.answering import models as answering_models  # noqa: F401
from sportello.channels.telegram import models as telegram_models  # noqa: F401
from sportello.conversations import models as conversation_models  # noqa: F401
from sportello.db.base import Base
from sportello.desk import models as desk_models  # noqa: F401
from sportello.desk import notes as desk_notes  # noqa: F401
from sportello.knowledge import models as knowledge_models  # noqa: F401

__all__ = ["Base"]

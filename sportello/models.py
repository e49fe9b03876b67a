"""Every domain's ORM models imported in one place, so Base.metadata is complete (Alembic, tests).

It sits above the domains (it imports them all), so the db package itself imports none.
"""

from sportello.accounts import models as account_models  # noqa: F401
from sportello.answering import models as answering_models  # noqa: F401
from sportello.channels.telegram import models as telegram_models  # noqa: F401
from sportello.conversations import models as conversation_models  # noqa: F401
from sportello.db.base import Base
from sportello.desk import models as desk_models  # noqa: F401
from sportello.knowledge import models as knowledge_models  # noqa: F401
from sportello.ratelimit import models as ratelimit_models  # noqa: F401

__all__ = ["Base"]

"""Desk fixtures: a populated world on each backend (SQLite file, fresh PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.desk.factory import World, build_world


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with sessions.begin() as session:
        return build_world(session)

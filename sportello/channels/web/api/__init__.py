"""The JSON API under /api/ (described by FastAPI's OpenAPI at /docs and /openapi.json)."""

from __future__ import annotations

from fastapi import APIRouter

from sportello.channels.web.api import admin, admin_directory, auth, chat, console, kb

router = APIRouter()
router.include_router(kb.router)
router.include_router(auth.router)
router.include_router(chat.router)
router.include_router(console.router)
router.include_router(admin.router)
router.include_router(admin_directory.router)

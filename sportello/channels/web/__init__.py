"""Web channel: FastAPI routers, templates and static files."""

"""The design, checked (docs: /work/shared/design.md, README "Layout"): the layers import
downwards only, no channel imports another, and SQL runs only in queries / reports modules.

Read from the source with `ast` (every import counts, including those inside functions and
under TYPE_CHECKING), so nothing has to be imported to check it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sportello"

# From the top: a module may import its own layer and the ones below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Entry points and composition roots wire everything together.
    (
        "entry",
        (
            "sportello.app",
            "sportello.asgi",
            "sportello.cli",
            "sportello.__main__",
            "sportello.models",  # every domain's ORM models, for Alembic's metadata
            "sportello.preflight",  # start-up checks of the settings and the backends
            "sportello.serving",  # `sportello serve`'s server and worker processes
            "sportello.db.migrations",  # Alembic's scripts
        ),
    ),
    ("channels", ("sportello.channels",)),
    ("usecases", ("sportello.usecases",)),
    # The built services and the metrics hooks read across domains, below the use cases.
    ("services", ("sportello.services", "sportello.metrics")),
    (
        "domain",
        (
            "sportello.answering",
            "sportello.desk",
            "sportello.conversations",
            "sportello.privacy",
            "sportello.accounts",
            "sportello.ratelimit",
        ),
    ),
    ("knowledge", ("sportello.knowledge",)),
    ("db", ("sportello.db",)),
    (
        "base",
        (
            "sportello.config",
            "sportello.config_checks",  # the validators of the settings
            "sportello.clock",
            "sportello.texts",  # where the user-facing texts live, and filling them
            "sportello.errors",
            "sportello.logging_setup",
            "sportello.periodic",  # the periodic-task helper
        ),
    ),
]

# Names whose import means "this module builds SQL"; `.execute(…)` calls count too.
SQL_NAMES = frozenset({"select", "insert", "update", "delete", "text"})
SQL_MODULE_NAMES = frozenset({"queries", "reports"})
# Modules that still run SQL outside a queries / reports module: shrink this list, never grow
# it (a module listed here that no longer runs SQL fails the test, so the list stays true).
SQL_ALLOWED: dict[str, str] = {}
# The db package's engine set-up (PRAGMAs, readiness ping) and models' server defaults are
# DDL and connection plumbing, not queries of a domain.
SQL_EXEMPT_PREFIXES = ("sportello.db.",)


# The desk's subpackages: outside `sportello.desk`, code imports a subpackage's public surface
# (its `__init__`, e.g. `from sportello.desk import scheduling`), never the modules inside it.
# The desk-wide modules (ORM models, schemas, errors, seed) are shared and importable directly.
DESK_SUBPACKAGES = ("scheduling", "tickets", "notifications", "handover", "directory")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    imports: tuple[str, ...]  # absolute sportello.* modules imported
    sql: frozenset[str]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join([*base, node.module] if node.module else base)


def parse(path: Path, name: str | None = None) -> Module:
    name = name or _module_name(path)
    tree = ast.parse(path.read_text("utf-8"), str(path))
    imports: list[str] = []
    sql: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, node)
            imports.append(target)
            # `from sportello.desk import queue` imports the module sportello.desk.queue
            imports.extend(f"{target}.{a.name}" for a in node.names)
            if target.split(".")[0] == "sqlalchemy":
                sql.update(a.name for a in node.names if a.name in SQL_NAMES)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "execute"
        ):
            sql.add("execute")
    return Module(
        name,
        path,
        tuple(i for i in imports if i == "sportello" or i.startswith("sportello.")),
        frozenset(sql),
    )


@cache
def modules() -> tuple[Module, ...]:
    return tuple(parse(p) for p in sorted(PACKAGE.rglob("*.py")))


def layer_of(name: str) -> int | None:
    """The layer's rank (0 = top); None for `sportello` itself or a name that is no module."""
    best: tuple[int, int] | None = None  # (prefix length, rank)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), rank)
    return best[1] if best else None


def _channel(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "channels" else None


def layer_violations(found: tuple[Module, ...]) -> list[str]:
    out = []
    for module in found:
        mine = layer_of(module.name)
        for target in module.imports:
            theirs = layer_of(target)
            if mine is None or theirs is None:
                continue
            if theirs < mine:
                out.append(
                    f"{module.name} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})"
                )
    return sorted(set(out))


def channel_violations(found: tuple[Module, ...]) -> list[str]:
    out = []
    for module in found:
        mine = _channel(module.name)
        for target in module.imports:
            theirs = _channel(target)
            if mine and theirs and mine != theirs:
                out.append(f"{module.name} imports another channel: {target}")
    return sorted(set(out))


def desk_surface_violations(found: tuple[Module, ...]) -> list[str]:
    out = []
    for module in found:
        if module.name == "sportello.desk" or module.name.startswith("sportello.desk."):
            continue
        for target in module.imports:
            parts = target.split(".")
            if (
                len(parts) < 4
                or parts[:2] != ["sportello", "desk"]
                or parts[2] not in DESK_SUBPACKAGES
            ):
                continue
            # `from sportello.desk.tickets import Actor` names an attribute: only modules count
            inner = PACKAGE / "desk" / parts[2] / parts[3]
            if inner.with_suffix(".py").exists() or inner.is_dir():
                surface = ".".join(parts[:3])
                out.append(f"{module.name} imports {target}: import {surface} instead")
    return sorted(set(out))


def sql_violations(found: tuple[Module, ...]) -> list[str]:
    out = []
    for module in found:
        if not module.sql or module.name.split(".")[-1] in SQL_MODULE_NAMES:
            continue
        if module.name.startswith(SQL_EXEMPT_PREFIXES) or module.name in SQL_ALLOWED:
            continue
        sql = set(module.sql)
        if module.name.endswith(".models"):
            sql.discard("text")  # server defaults: DDL
        if sql:
            out.append(f"{module.name} runs SQL ({', '.join(sorted(sql))})")
    return out


# --- the tests ---------------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    unplaced = [m.name for m in modules() if m.name != "sportello" and layer_of(m.name) is None]
    assert not unplaced, f"place these modules in LAYERS: {unplaced}"


def test_layers_import_downwards_only() -> None:
    found = layer_violations(modules())
    assert not found, "\n".join(found)


def test_no_channel_imports_another() -> None:
    found = channel_violations(modules())
    assert not found, "\n".join(found)


def test_domain_never_imports_usecases_or_channels() -> None:
    domain = LAYERS.index(next(x for x in LAYERS if x[0] == "domain"))
    wrong = [
        f"{m.name} imports {t}"
        for m in modules()
        if (layer_of(m.name) or 0) >= domain
        for t in m.imports
        if t.startswith(("sportello.channels", "sportello.usecases"))
    ]
    assert not wrong


def test_privacy_sits_above_desk_and_conversations() -> None:
    wrong = [
        f"{m.name} imports {t}"
        for m in modules()
        if m.name.startswith(("sportello.desk", "sportello.conversations"))
        for t in m.imports
        if t.startswith("sportello.privacy")
    ]
    assert not wrong


def test_outside_the_desk_only_its_subpackages_surfaces_are_imported() -> None:
    found = desk_surface_violations(modules())
    assert not found, "\n".join(found)


def test_desk_surfaces_list_what_they_export() -> None:
    """Each subpackage's `__all__` is exactly what its `TYPE_CHECKING` block imports, and every
    name resolves (the surfaces load lazily, so a typo would only show at first use)."""
    import importlib

    from sportello.desk.surface import _sources

    for sub in DESK_SUBPACKAGES:
        package = importlib.import_module(f"sportello.desk.{sub}")
        assert package.__file__ is not None
        assert sorted(package.__all__) == sorted(_sources(package.__file__)), sub
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{sub}.{name}"


def test_sql_runs_only_in_queries_and_reports_modules() -> None:
    found = sql_violations(modules())
    assert not found, "\n".join(found)


def test_the_sql_allow_list_only_shrinks() -> None:
    by_name = {m.name: m for m in modules()}
    stale = [name for name in SQL_ALLOWED if name not in by_name or not by_name[name].sql]
    assert not stale, f"no SQL left here any more: remove from SQL_ALLOWED: {stale}"


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    """The checkers themselves, on made-up modules: a domain importing a channel, a channel
    importing the other and a desk subpackage's inner module, a service running a select."""
    fake = tmp_path / "sportello"
    (fake / "desk").mkdir(parents=True)
    (fake / "channels" / "web").mkdir(parents=True)
    (fake / "desk" / "bad.py").write_text(
        "from sportello.channels.web import chat\nfrom sqlalchemy import select\n"
    )
    (fake / "channels" / "web" / "bad.py").write_text(
        "from sportello.channels.telegram import handlers\n"
        "from sportello.desk.tickets.reports import queue\n"
        "from sportello.desk import tickets\n"
    )
    found = tuple(
        parse(p, "sportello." + ".".join(p.relative_to(fake).with_suffix("").parts))
        for p in sorted(fake.rglob("*.py"))
    )
    assert layer_violations(found) == [
        "sportello.desk.bad (domain) imports sportello.channels.web (channels)",
        "sportello.desk.bad (domain) imports sportello.channels.web.chat (channels)",
    ]
    assert channel_violations(found) == [
        "sportello.channels.web.bad imports another channel: sportello.channels.telegram",
        "sportello.channels.web.bad imports another channel: sportello.channels.telegram.handlers",
    ]
    assert sql_violations(found) == ["sportello.desk.bad runs SQL (select)"]
    assert desk_surface_violations(found) == [
        "sportello.channels.web.bad imports sportello.desk.tickets.reports.queue: import "
        "sportello.desk.tickets instead",
        "sportello.channels.web.bad imports sportello.desk.tickets.reports: import "
        "sportello.desk.tickets instead",
    ]

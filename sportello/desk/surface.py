"""Lazy public surfaces for the desk's subpackages: names load on first use, so no cycles.

A subpackage's `__init__` lists its public names as imports under `TYPE_CHECKING` (what mypy
and readers see) plus `__all__`, and sets `__getattr__ = lazy(__name__, __file__)`: the first
access to a name imports the module the `TYPE_CHECKING` block names it from. The subpackages
use each other (a booking logs a ticket event and queues a notification), so importing every
surface eagerly would make their import order matter.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from functools import cache
from pathlib import Path


def _sources(init_file: str) -> dict[str, tuple[str, str]]:
    """Public name → (module, name there), from the `if TYPE_CHECKING:` imports."""
    tree = ast.parse(Path(init_file).read_text("utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        found[alias.asname or alias.name] = (stmt.module, alias.name)
    return found


def lazy(package: str, init_file: str) -> Callable[[str], object]:
    """The module-level `__getattr__` of `package` (PEP 562)."""
    sources = cache(_sources)

    def __getattr__(name: str) -> object:
        where = sources(init_file).get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where
        return getattr(importlib.import_module(module), attribute)

    return __getattr__

"""The trust suite: hostile input, injection, fuzzing, access, races, faults, privacy,
flooding.

Every test carries `pytest.mark.trust("<category>")` (a module's `pytestmark`); this plugin
counts, per category, the tests run, the cases they tried (a test may report more than one
through the `cases` fixture: hypothesis examples, API calls, clients of a race) and the
failures, and prints them as a table at the end of the run (`make trust`).

Fixtures shared with the web tests are imported from there, not copied.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sportello.answering.assistant import Assistant
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import build_knowledge
from sportello.services import build_assistant
from tests.channels.web.conftest import indexed_template, web  # noqa: F401 - fixtures
from tests.conftest import make_settings

CATEGORIES = {
    "input": "1. Input",
    "injection": "2. Prompt injection",
    "fuzzing": "3. API fuzzing",
    "access": "4. Access control",
    "races": "5. Races (HTTP, PostgreSQL)",
    "faults": "6. Crashes and faults",
    "privacy": "7. Privacy (GDPR)",
    "flood": "8. Flooding (rate limit)",
}
CASES_KEY = "trust_cases"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = {}  # the markers are declared in pyproject.toml


@dataclass
class _Result:
    category: str
    cases: int = 1
    failed: bool = False
    ran: bool = False


_RESULTS = pytest.StashKey[dict[str, _Result]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        marker = item.get_closest_marker("trust")
        if marker is None:
            # Every test of the suite counts in the table: one without a category is a mistake.
            assert not item.path.is_relative_to(here), f"{item.nodeid}: no trust(category) mark"
            continue
        category = str(marker.args[0])
        assert category in CATEGORIES, f"{item.nodeid}: unknown trust category {category!r}"
        config.stash[_RESULTS][item.nodeid] = _Result(category)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    result = item.config.stash[_RESULTS].get(item.nodeid)
    if result is None or (report.skipped and report.when in ("setup", "call")):
        return report
    result.ran = True
    result.failed = result.failed or report.failed
    counted = [int(v) for k, v in report.user_properties if k == CASES_KEY]
    if counted:
        result.cases = max(1, counted[-1])
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    results = [r for r in terminalreporter.config.stash[_RESULTS].values() if r.ran]
    if not results:
        return
    rows = []
    for key, label in CATEGORIES.items():
        mine = [r for r in results if r.category == key]
        rows.append(
            (label, len(mine), sum(r.cases for r in mine), sum(1 for r in mine if r.failed))
        )
    total = ("total", *(sum(row[i] for row in rows) for i in (1, 2, 3)))
    write = terminalreporter.write_line
    terminalreporter.section("trust suite")
    header = f"{'category':<30} {'tests':>6} {'cases tried':>12} {'failures':>9}"
    write(header)
    write("-" * len(header))
    for label, tests, cases, failures in [*rows, total]:
        if label == "total":
            write("-" * len(header))
        write(f"{label:<30} {tests:>6} {cases:>12} {failures:>9}")


@dataclass
class Cases:
    """How many cases a test tried (one per hypothesis example, API call, client…)."""

    item: pytest.Item
    count: int = field(default=0)

    def add(self, n: int = 1) -> None:
        self.count += n
        self.item.user_properties[:] = [
            (k, v) for k, v in self.item.user_properties if k != CASES_KEY
        ] + [(CASES_KEY, self.count)]


@pytest.fixture
def cases(request: pytest.FixtureRequest) -> Cases:
    return Cases(request.node)


# --- shared fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def assistant(
    indexed_template: Path,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
) -> Iterator[Assistant]:
    """The real assistant over the web tests' small indexed knowledge base (a private copy)."""
    root = tmp_path_factory.mktemp("trust-assistant")
    shutil.copytree(indexed_template / "data", root / "data")
    shutil.copytree(indexed_template / "kb", root / "kb")
    settings = make_settings(root, kb_dir=root / "kb")
    yield build_assistant(settings, build_knowledge(settings, embedder))

"""The layout's rules, read from the code's own imports.

Each module belongs to a part: ``protocols``, ``supervision``, a folder under ``actors/``
(``arbitrage``, ``risk``, ``venues``, ``runtime``, ``backtest``, ``analytics``, ``sim``,
``chaos``, ``cli``), or one of the few modules directly under ``actors/``. Imports point
one way, from the command line down to the domain model; the trading runtime imports
nothing of the tools around it; nothing imports in a circle. Every import counts, those under
``TYPE_CHECKING`` and inside functions included: a circle drawn only for the type
checker is still one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("actors", "protocols", "supervision")

FOUNDATION = {"http_server", "failpoints", "histogram", "config_files", "hot_path"}
"""Modules directly under ``actors/`` that any part may use: they use only the domain
model and the actor runtime."""

MAY_IMPORT: dict[str, set[str]] = {
    "supervision": set(),
    "protocols": set(),
    **{name: {"protocols", "supervision"} for name in FOUNDATION},
    "risk": {"protocols", "supervision", *FOUNDATION},
    "arbitrage": {"risk", "protocols", "supervision", *FOUNDATION},
    "venues": {"protocols", "supervision", *FOUNDATION},
    "runtime": {"arbitrage", "risk", "venues", "protocols", "supervision", *FOUNDATION},
    "sim": {"protocols", "supervision", *FOUNDATION},
    "backtest": {"arbitrage", "risk", "protocols", "supervision", *FOUNDATION},
    "analytics": {"runtime", "arbitrage", "risk", "protocols", "supervision", *FOUNDATION},
    "dashboard": {"runtime", "arbitrage", "risk", "protocols", "supervision", *FOUNDATION},
    "system_config": {
        "dashboard",
        "runtime",
        "sim",
        "arbitrage",
        "risk",
        "venues",
        "protocols",
        *FOUNDATION,
    },
    "chaos": {"system_config", "runtime", "sim", "arbitrage", "risk", "venues", "protocols"}
    | {"supervision", *FOUNDATION},
    "cli": {
        "analytics",
        "dashboard",
        "risk",
        "system_config",
        "runtime",
        "sim",
        "chaos",
        "backtest",
        "arbitrage",
        "venues",
        "protocols",
        "supervision",
        *FOUNDATION,
    },
}
"""Which parts each part may import (its own modules always)."""

MAX_MODULES_UNDER_ACTORS = 8


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str, known: Iterable[str]) -> set[str]:
    """The modules of ours that ``path`` imports, each resolved to a module that exists
    (``from actors.sim import SimServers`` is an import of ``actors.sim``; ``from actors
    import histogram`` one of ``actors.histogram``)."""
    known = set(known)

    def existing(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [existing(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            targets = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else existing(node.module)
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t and t != name and t.split(".")[0] in PACKAGES)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def part_of(module: str) -> str:
    top, _, rest = module.partition(".")
    if top != "actors":
        return top
    return rest.split(".")[0] if rest else "actors"


def layering_violations(graph: Mapping[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(graph.items()):
        source = part_of(module)
        allowed = MAY_IMPORT.get(source)
        for target in sorted(targets):
            into = part_of(target)
            if into == source or into == "actors":
                continue
            if allowed is None:
                wrong.append(f"{module}: part {source!r} is not in the layout's table")
                break
            if into not in allowed:
                wrong.append(f"{module} imports {target} ({source} -> {into})")
    return wrong


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_imports_point_one_way(graph):
    assert layering_violations(graph) == []


def test_the_runtime_imports_nothing_of_the_tools_around_it(graph):
    tools = {"sim", "chaos", "backtest", "cli", "system_config", "dashboard"}
    reached = {
        target
        for module, targets in graph.items()
        if part_of(module) == "runtime"
        for target in targets
        if part_of(target) in tools
    }
    assert reached == set()


def test_supervision_and_protocols_import_nothing_of_ours_but_themselves(graph):
    for module, targets in graph.items():
        if part_of(module) in ("supervision", "protocols"):
            assert {part_of(t) for t in targets} <= {part_of(module)}, module


def test_no_module_imports_in_a_circle(graph):
    assert circles(graph) == []


def test_few_modules_live_directly_under_actors():
    loose = sorted(p.name for p in (ROOT / "actors").glob("*.py"))
    assert len(loose) <= MAX_MODULES_UNDER_ACTORS, loose


def test_every_part_under_actors_is_in_the_layout_table(graph):
    parts = {part_of(module) for module in graph} - {"actors"}
    assert parts <= set(MAY_IMPORT), parts - set(MAY_IMPORT)


# The checks above are only worth something if they can fail: each is shown a house that
# breaks its rule.


def test_the_layering_check_catches_an_import_that_points_up():
    broken = {
        "actors.runtime.system": {"actors.sim.servers"},
        "actors.sim.servers": set(),
        "actors.arbitrage.actor": {"actors.runtime.ops.metrics"},
        "actors.runtime.ops.metrics": set(),
    }
    assert layering_violations(broken) == [
        "actors.arbitrage.actor imports actors.runtime.ops.metrics (arbitrage -> runtime)",
        "actors.runtime.system imports actors.sim.servers (runtime -> sim)",
    ]


def test_the_circle_check_catches_a_circle_through_several_modules():
    broken = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(broken) == [["a", "b", "c"]]


def test_imports_are_read_in_every_form(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import actors.histogram\n"
        "from actors import failpoints\n"
        "from supervision import Mailbox\n"
        "if TYPE_CHECKING:\n"
        "    from actors.runtime.system import TradingSystem\n"
        "def later():\n"
        "    from protocols.model import Symbol\n"
    )
    known = our_modules()
    assert imports_of(source, "actors.probe", known) == {
        "actors.histogram",
        "actors.failpoints",
        "supervision",
        "actors.runtime.system",
        "protocols.model",
    }

"""Imports run downward only (docs/architecture.md): each layer's forbidden imports, checked.

The source is parsed, not imported, so an import inside a function or under TYPE_CHECKING
counts as much as one at the top of a module: a layer that needs something from above it has
the design wrong, wherever the import is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package (as a module prefix) -> the modules it must not import. The transports and the
# process's wiring (bot.app, bot.cli, bot.scheduler) sit on top: below them nothing may reach up.
TOP = ("bot.transports", "bot.cli", "bot.scheduler", "bot.__main__")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.dialog": (*TOP, "handlers", "bot.reports"),
    "handlers": TOP,
    "bot.services": (*TOP, "handlers", "bot.reports"),
    "bot.reports": (*TOP, "handlers"),
    "storage": ("bot", "handlers"),
    "bot.text": ("bot", "handlers", "storage"),
}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _sources() -> list[Path]:
    return sorted(path for folder in ("bot", "handlers", "storage") for path in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_reaches_up(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources()
        if _within(_module(path), package)
        and not any(
            _within(_module(path), other) for other in FORBIDDEN if other != package and _within(other, package)
        )
        for line, name in _imports(path)
        if any(_within(name, banned) for banned in FORBIDDEN[package])
    ]
    assert wrong == []


def test_the_rules_see_the_imports() -> None:
    """The checker itself finds an import that breaks a rule (this test fails if it went blind)."""
    transports = _imports(ROOT / "bot" / "transports" / "zalo.py")
    assert any(_within(name, "bot.transports") for _, name in transports)
    assert _within("bot.transports.base", "bot.transports") and not _within("bot.transportsx", "bot.transports")

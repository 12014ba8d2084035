"""The repository cites only documents it contains, and its maps name only paths that exist.

Every source, configuration and documentation file (``.py``, ``.md``, ``.toml``,
``.proto``, the Makefile, ``.ci/``) is read for citations of documents: a path ending in
``.md`` must name a file of the repository (from the root or from the citing file's
folder; a bare name like ``README.md`` may be anywhere), a ``docs/`` path must exist, and
a few documents that were never part of the repository (a product spec, a design note, a
seed folder) must not be cited at all. The pages under ``docs/`` and the README must
name only repository paths that exist, so the architecture map cannot drift from the
code unnoticed.

This file is the one exception to the first rule: it spells out what it looks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()

SKIPPED_DIRS = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "basis-data",
    "build",
    "dist",
}
SUFFIXES = {".py", ".md", ".toml", ".proto"}

MARKDOWN_PATH = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-][\w.-]*\.md)\b")
DOCS_PATH = re.compile(r"(?<![\w/.-])(docs/[\w./-]*)")
NEVER_IN_THE_REPOSITORY = {
    "a product spec (SPEC)": re.compile(r"\bSPEC\b"),
    "a seed folder": re.compile(r"(?<![\w/.-])seed/"),
    "a design note": re.compile(r"\bdesign note\b", re.IGNORECASE),
}
REPOSITORY_PATH = re.compile(
    r"(?<![\w/.-])((?:actors|protocols|supervision|tests|bench|configs|docs)/[\w./-]*)"
)
MAPS = ("README.md", "docs")


def repository_files() -> Iterator[Path]:
    """The files whose text may cite documents, in a stable order."""
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts):
            continue
        if not path.is_file() or path == THIS:
            continue
        if path.suffix in SUFFIXES or path.name == "Makefile" or relative.parts[0] == ".ci":
            yield path


def absent_citations(text: str, exists: Callable[[str], bool], names: set[str]) -> list[str]:
    """What ``text`` cites that the repository does not hold.

    ``exists(path)`` says whether a relative path names a file or folder of the
    repository; ``names`` are the file names found anywhere in it (for bare citations
    such as ``README.md``)."""
    missing = []
    for match in MARKDOWN_PATH.finditer(text):
        cited = match.group(1)
        if not (exists(cited) if "/" in cited else cited in names):
            missing.append(cited)
    for match in DOCS_PATH.finditer(text):
        cited = match.group(1).rstrip(".")
        if not cited.endswith(".md") and not exists(cited):
            missing.append(cited)
    for what, pattern in NEVER_IN_THE_REPOSITORY.items():
        missing.extend(f"{match.group(0)!r} ({what})" for match in pattern.finditer(text))
    return missing


def absent_paths(text: str, exists: Callable[[str], bool]) -> list[str]:
    """Repository paths (``actors/...py``, ``actors/.../``, ``tests/...``) that ``text``
    names and that do not exist."""
    missing = []
    for match in REPOSITORY_PATH.finditer(text):
        path = match.group(1).rstrip(".")
        if not exists(path):
            missing.append(path)
    return missing


def _exists_from(folder: Path) -> Callable[[str], bool]:
    def exists(path: str) -> bool:
        return (ROOT / path).exists() or (folder / path).exists()

    return exists


def test_no_file_cites_a_document_the_repository_does_not_contain():
    files = list(repository_files())
    names = {path.name for path in files}
    wrong = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for cited in absent_citations(text, _exists_from(path.parent), names):
            wrong.append(f"{path.relative_to(ROOT)}: {cited}")
    assert wrong == [], "cite a document under docs/ instead, or state the fact"


def test_the_docs_name_only_paths_that_exist():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 1, "docs/ has no pages"
    wrong = []
    for page in pages:
        for path in absent_paths(page.read_text(encoding="utf-8"), _exists_from(page.parent)):
            wrong.append(f"{page.relative_to(ROOT)}: {path}")
    assert wrong == []


# The checks are only worth something if they can fail: each is shown text that breaks it.


def test_the_citation_check_catches_each_kind_of_absent_document():
    def exists(path: str) -> bool:
        return path in {"docs", "docs/strategy.md", "bench/RESULTS.md"}

    text = (
        "See docs/strategy.md and bench/RESULTS.md, README.md, and https://example.com/a.md.\n"
        "The formulas are SPEC §1's; the wire format is in shared/PROTOCOLS.md and\n"
        "ARCHITECTURE.md; the layout in LAYOUT.md; docs/missing.md; the Design Note says so;\n"
        "seed/arbitrage-task-integration.md. _SPEC = ChildSpec() is no citation.\n"
    )
    assert absent_citations(text, exists, {"README.md", "RESULTS.md", "strategy.md"}) == [
        "shared/PROTOCOLS.md",
        "ARCHITECTURE.md",
        "LAYOUT.md",
        "docs/missing.md",
        "seed/arbitrage-task-integration.md",
        "'SPEC' (a product spec (SPEC))",
        "'seed/' (a seed folder)",
        "'Design Note' (a design note)",
    ]


def test_the_path_check_catches_a_module_that_moved():
    def exists(path: str) -> bool:
        return path in {"actors/", "actors/runtime/", "actors/runtime/system.py"}

    text = (
        "`actors/runtime/system.py` builds the tree; `actors/runtime/manager.py` did;\n"
        "the parts under `actors/runtime/` and `actors/gone/`; loose modules `actors/*.py`.\n"
    )
    assert absent_paths(text, exists) == ["actors/runtime/manager.py", "actors/gone/"]

"""The documentation as its readers get it: every page, its snippets included, its code blocks.

Pages are found by glob (``README.md`` and ``docs/**/*.md``), so a page added later is
covered without touching the tests. ``--8<-- "path"`` and ``--8<-- "path:section"``
lines, and blocks of paths between two ``--8<--`` lines (the form to use inside a
``python`` fence, which ruff's formatter leaves alone), are included the way
``pymdownx.snippets`` includes them in the site (paths from the repository root; a
section runs between ``--8<-- [start:name]`` and ``--8<-- [end:name]``, the marker lines
left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

_INCLUDE = re.compile(r'^\s*--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"\s*$')
_MARKER = re.compile(r"--8<-- \[(?:start|end):[\w-]+\]")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page, as the site shows it."""

    page: str  # relative to the repository root
    line: int  # the opening fence's line in the page (1-based; an included file counts as one)
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _section(text: str, name: str, source: str) -> str:
    start, end = f"--8<-- [start:{name}]", f"--8<-- [end:{name}]"
    if start not in text or end not in text:
        raise AssertionError(f"{source} has no section {name!r}")
    inside = text.split(start, 1)[1].split(end, 1)[0]
    return inside.split("\n", 1)[1].rsplit("\n", 1)[0]  # drop the rest of the marker lines


def expand(text: str, source: str = "page") -> list[tuple[int, str]]:
    """The page's lines with every snippet included, each with its line in the page."""
    lines: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "--8<--":
            in_block = not in_block
            continue
        if in_block and line.strip():
            line = f'--8<-- "{line.strip()}"'
        include = _INCLUDE.match(line)
        if include is None:
            if not _MARKER.search(line):
                lines.append((number, line))
            continue
        path = ROOT / include["path"]
        included = path.read_text()
        if include["section"]:
            included = _section(included, include["section"], include["path"])
        lines.extend((number, inner) for _, inner in expand(included, include["path"]))
    return lines


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, snippets included."""
    found: list[Block] = []
    lines = expand(page.read_text(), str(page))
    index = 0
    while index < len(lines):
        number, line = lines[index]
        fence = _FENCE.match(line)
        index += 1
        if fence is None:
            continue
        closing = fence["indent"] + "```"
        body: list[str] = []
        while index < len(lines) and lines[index][1].rstrip() != closing:
            body.append(lines[index][1].removeprefix(fence["indent"]))
            index += 1
        index += 1  # the closing fence
        found.append(Block(str(page.relative_to(ROOT)), number, fence["lang"], "\n".join(body)))
    return found


def all_blocks(*langs: str) -> list[Block]:
    return [block for page in pages() for block in blocks(page) if block.lang in langs]

"""Docstrings and comments state contracts; the figures they rest on live in RESULTS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

SOURCES = sorted(
    path
    for folder in ("cryptopay_async", "codegen")
    for path in (ROOT / folder).rglob("*.py")
    if not path.name.startswith("_generated")
)
RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text()
# A duration or a memory size written as a figure; limits in KB (request lines, URL
# arguments) are rules, not measurements, and a log line's "elapsed=12.3ms" is a format.
MEASUREMENT = re.compile(r"(?<![=\d.])\d[\d.,]* ?(µs|ms|ns|MB|GB)\b")
SECTIONS = {
    letter
    for heading in re.findall(r"^## ([a-h.\/]+) ", RESULTS, flags=re.MULTILINE)
    for letter in re.findall(r"[a-h]", heading)
}
CITATION = re.compile(r"RESULTS\.md``?,\s+sections?\s+([a-h](?:(?:,| and)\s+[a-h])*)\b")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_no_timing_or_memory_figure_in_the_source(path: Path) -> None:
    found = [
        f"{relative(path)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if MEASUREMENT.search(line)
    ]
    assert found == [], "move the figure to benchmarks/RESULTS.md and cite it"


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_every_cited_section_of_the_results_exists(path: Path) -> None:
    text = " ".join(path.read_text().split())
    for match in CITATION.finditer(text):
        for section in re.findall(r"[a-h]", match.group(1)):
            assert section in SECTIONS, f"{relative(path)} cites section {section} of RESULTS.md"

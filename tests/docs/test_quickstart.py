"""The README's two Quickstart commands: each one line, needing only python3 and venv.

Debian 12's and Ubuntu's system Python refuse ``pip install`` (PEP 668,
``externally-managed-environment``), so each command installs nox into a virtual
environment of its own before running it; CI runs the second one verbatim.
"""

from __future__ import annotations

import shlex

import pytest

from tests.docs.pages import blocks
from tests.support import ROOT

README = ROOT / "README.md"


def quickstart() -> list[str]:
    """The lines of the README's Quickstart block (the one between its section markers)."""
    text = README.read_text()
    section = text.split("--8<-- [start:quickstart]", 1)[1].split("--8<-- [end:quickstart]")[0]
    (block,) = [b for b in blocks(README) if b.lang == "bash" and b.code in section]
    return block.code.splitlines()


def test_the_quickstart_is_two_commands_demo_then_tests() -> None:
    lines = quickstart()
    assert [shlex.split(line, comments=True)[-3:] for line in lines] == [
        [".venv/bin/nox", "-s", "demo"],
        [".venv/bin/nox", "-s", "tests"],
    ]


@pytest.mark.parametrize("line", quickstart())
def test_no_command_installs_into_the_system_python(line: str) -> None:
    steps = [shlex.split(step, comments=True) for step in line.split("&&")]
    assert steps[0] == ["python3", "-m", "venv", ".venv"]
    for step in steps[1:]:
        assert step[0].startswith(".venv/bin/"), step  # nothing runs from the system Python


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = quickstart()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci

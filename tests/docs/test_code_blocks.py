"""Every code block of the README and the site works as written.

Each ``python`` block is self-contained: all of them are type-checked with
``mypy --strict`` (one file per block); the whole programs among them (those with an
``if __name__ == "__main__":``) are run against a served emulator. A block without one
is either a copy of an ``examples/`` file (run by the tests of that example) or a
fragment defining functions, which type-checking covers. Every ``cryptopay`` command
line of a ``bash`` block names subcommands and flags the real CLI's ``--help`` shows.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from cryptopay_async.cli import app
from cryptopay_async.testing import CryptopayEmulator
from tests.docs.pages import Block, all_blocks
from tests.support import ROOT

PYTHON = all_blocks("python")
BASH = all_blocks("bash")
EXAMPLES = {path.read_text().strip(): path.name for path in (ROOT / "examples").glob("*.py")}


def is_program(block: Block) -> bool:
    return 'if __name__ == "__main__":' in block.code


def is_constant(node: ast.stmt) -> bool:
    """``NAME = <a literal>``: a setting such as ``pytest_plugins``, which does nothing."""
    if not isinstance(node, ast.Assign):
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def where(block: Block) -> str:
    return block.where


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy --strict over every block at once, each block its own module."""
    folder = tmp_path_factory.mktemp("blocks")
    files = {}
    for number, block in enumerate(PYTHON):
        path = folder / f"block_{number:03d}.py"
        path.write_text(block.code + "\n")
        files[path.name] = block.where
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *map(str, files)],
        cwd=folder,  # not the repository's configuration: the blocks are user code
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert checked.returncode in (0, 1), checked.stderr
    errors: dict[str, list[str]] = {where: [] for where in files.values()}
    for line in checked.stdout.splitlines():
        name = Path(line.split(":", 1)[0]).name
        if name in files and ": error:" in line:
            errors[files[name]].append(line.split(":", 1)[1])
    return errors


def test_there_are_blocks_of_each_kind() -> None:
    assert len(PYTHON) >= 10
    assert sum(map(is_program, PYTHON)) >= 3
    assert any(block.code.strip() in EXAMPLES for block in PYTHON)
    assert len(BASH) >= 5


@pytest.mark.parametrize("block", PYTHON, ids=where)
def test_the_python_block_passes_mypy_strict(
    block: Block, mypy_errors: dict[str, list[str]]
) -> None:
    assert mypy_errors[block.where] == [], "\n" + block.code


@pytest.mark.parametrize("block", [b for b in PYTHON if not is_program(b)], ids=where)
def test_a_block_that_is_no_program_is_an_example_file_or_only_defines(block: Block) -> None:
    """Fragments define functions and classes; statements at top level are programs."""
    if block.code.strip() in EXAMPLES:
        return  # shown verbatim; tests/test_examples_in_readme.py says which test runs it
    tree = ast.parse(block.code)
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    loose = [
        type(node).__name__
        for node in tree.body
        if not isinstance(node, kinds) and not is_constant(node)
    ]
    assert loose == [], "a statement at top level: make it a program or a function"


@pytest.mark.parametrize("block", [b for b in PYTHON if is_program(b)], ids=where)
def test_the_program_block_runs_against_a_served_emulator(
    block: Block,
    cryptopay_server: tuple[CryptopayEmulator, str],
    tmp_path: Path,
) -> None:
    emulator, url = cryptopay_server
    program = tmp_path / "program.py"
    program.write_text(block.code)
    env = {
        **os.environ,
        "CRYPTOPAY_API_KEY": emulator.api_key,
        "CRYPTOPAY_API_SECRET": emulator.api_secret,
        "CRYPTOPAY_CALLBACK_SECRET": emulator.callback_secret,
        "CRYPTOPAY_BASE_URL": url,
    }
    ran = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]


# --- bash blocks: the cryptopay command lines ------------------------------------------

ROOT_COMMAND = typer.main.get_command(app)
# The emulator's own entry point takes exactly the flags of `cryptopay emulator serve`.
ALIASES = {("python", "-m", "cryptopay_async.testing"): ("emulator",)}


@functools.cache
def help_text(path: tuple[str, ...]) -> str:
    shown = subprocess.run(
        [sys.executable, "-m", "cryptopay_async", *path, "--help"],
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def command_lines(block: Block) -> list[list[str]]:
    """Each line that runs the cryptopay command, as words, the subcommand path first."""
    found = []
    for line in block.code.replace("\\\n", " ").splitlines():  # continued lines joined
        words = shlex.split(line, comments=True)
        for prefix, path in ALIASES.items():
            if tuple(words[: len(prefix)]) == prefix:
                words = ["cryptopay", *path, *words[len(prefix) :]]
        if words[:1] == ["cryptopay"]:
            found.append(words[1:])
    return found


# typer 0.29 carries its own copy of click: its commands are read by their attributes.
def takes_value(command: Any, flag: str) -> bool:
    return any(flag in p.opts and not getattr(p, "is_flag", False) for p in command.params)


def check(words: list[str]) -> list[str]:
    """What in one command line the CLI does not know (empty when all is known)."""
    path: list[str] = []
    commands: list[Any] = [ROOT_COMMAND]
    unknown = []
    descending, skip = True, False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            helps = [help_text(tuple(path[:depth])) for depth in range(len(path) + 1)]
            if not any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", h) for h in helps):
                unknown.append(f"{flag} (cryptopay {' '.join(path)} --help)")
            skip = "=" not in word and any(takes_value(c, flag) for c in commands)
            continue
        current = commands[-1]
        if descending and hasattr(current, "commands"):
            if word not in current.commands:
                unknown.append(f"{word} (no such command of cryptopay {' '.join(path)})")
                break
            path.append(word)
            commands.append(current.commands[word])
        else:
            descending = False  # an argument: what follows are arguments and flags
    return unknown


CLI_BLOCKS = [block for block in BASH if command_lines(block)]


def test_the_pages_show_cryptopay_commands() -> None:
    assert len(CLI_BLOCKS) >= 3


@pytest.mark.parametrize("block", CLI_BLOCKS, ids=where)
def test_the_cryptopay_commands_of_a_bash_block_exist(block: Block) -> None:
    problems = {" ".join(words): check(words) for words in command_lines(block)}
    assert {line: found for line, found in problems.items() if found} == {}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("cryptopay invoices create --amount 1 --no-such-flag", "--no-such-flag"),
        ("cryptopay invoices frobnicate", "frobnicate"),
        ("cryptopay emulator serve --port 0 --bogus", "--bogus"),
    ],
)
def test_the_check_catches_what_the_cli_does_not_know(line: str, problem: str) -> None:
    block = Block("test", 1, "bash", line)
    (words,) = command_lines(block)
    assert any(problem in found for found in check(words))

"""What a published release carries: license, metadata, extras, and a self-testing sdist."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT: dict[str, Any] = PYPROJECT["project"]


def test_the_license_file_is_the_mit_license_pyproject_declares() -> None:
    assert PROJECT["license"] == "MIT"
    assert "LICENSE" in PROJECT["license-files"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_the_cli_extra_installs_what_the_emulator_and_the_demo_import() -> None:
    # `nox -s demo` installs only `.[cli]`; the demo serves the emulator on Starlette.
    cli = PROJECT["optional-dependencies"]["cli"]
    assert "cryptopay-async[testing]" in cli
    testing = " ".join(PROJECT["optional-dependencies"]["testing"])
    assert "starlette" in testing
    assert "uvicorn" in testing


@pytest.mark.parametrize(
    ("example", "extra"), [("fastapi_app", "fastapi"), ("aiohttp_app", "aiohttp")]
)
def test_an_integration_extra_installs_what_its_example_imports_and_is_run_with(
    example: str, extra: str
) -> None:
    source = (ROOT / "examples" / f"{example}.py").read_text()
    tree = ast.parse(source)
    imported = {
        name.partition(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    run_line = (ast.get_docstring(tree) or "").partition("Run:")[2]
    runner = re.search(r"``(?:.*?\s)?(?:python -m )?(uvicorn|aiohttp)[\s.]", run_line, re.S)
    assert runner is not None, run_line
    needed = {runner[1], *imported} - set(sys.stdlib_module_names) - {"cryptopay_async", ""}
    installed = {
        re.split(r"[<>=\[ ]", requirement)[0]
        for requirement in PROJECT["optional-dependencies"][extra]
    }
    assert needed <= installed, f"[{extra}] lacks {sorted(needed - installed)}"


def test_project_urls_point_at_source_issues_and_the_api_reference() -> None:
    urls = PROJECT["urls"]
    assert {"Homepage", "Source", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())


def test_classifiers_name_the_python_versions_the_suite_runs_on() -> None:
    versions = {
        c.rsplit("::", 1)[1].strip()
        for c in PROJECT["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running in versions, f"tests run on {running}, not classified: {sorted(versions)}"
    minimum = PROJECT["requires-python"].removeprefix(">=")
    assert all(
        tuple(map(int, v.split("."))) >= tuple(map(int, minimum.split("."))) for v in versions
    )


def test_development_tools_are_a_dependency_group_not_a_user_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    assert "dev" not in extras
    dev = PYPROJECT["dependency-groups"]["dev"]
    tools = " ".join(entry for entry in dev if isinstance(entry, str))
    for tool in ("pytest", "mypy", "ruff", "nox"):
        assert tool in tools
    assert {"include-group": "docs"} in dev  # the tests build the site
    noxfile = (ROOT / "noxfile.py").read_text()
    assert '".[dev]"' not in noxfile
    assert 'dependency_groups(PYPROJECT, "dev")' in noxfile
    development = (ROOT / "docs" / "development.md").read_text()
    assert '-e ".[all]" --group dev' in development


@pytest.fixture(scope="module")
def unpacked_sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist as ``python -m build --sdist`` would make it, unpacked."""
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        # Extraction filters came in 3.11.4; Debian 12's Python is 3.11.2 (our own sdist).
        if hasattr(tarfile, "data_filter"):
            tar.extractall(out, filter="data")
        else:
            tar.extractall(out)
    (tree,) = (p for p in out.iterdir() if p.is_dir())
    return tree


# The editable install puts this checkout on sys.path; take it off so every import
# (cryptopay_async, tests, examples) must come from the unpacked sdist.
_RUN_WITHOUT_CHECKOUT = """
import os, sys, pytest
checkout = os.path.realpath(sys.argv[1])
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != checkout]
sys.exit(pytest.main(sys.argv[2:]))
"""


def _pytest_in(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("CI", None)  # the sdist has no ../shared beside it: a skip there, not a failure
    return subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_CHECKOUT, str(ROOT), "-p", "no:cacheprovider", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_sdist_carries_what_the_tests_import(unpacked_sdist: Path) -> None:
    for needed in ("LICENSE", "README.md", "examples/quickstart.py", "codegen/api"):
        assert (unpacked_sdist / needed).exists(), needed
    collected = _pytest_in(unpacked_sdist, "--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.splitlines()[-1].lower()


def test_tests_that_import_examples_pass_from_the_sdist(unpacked_sdist: Path) -> None:
    ran = _pytest_in(
        unpacked_sdist,
        "-q",
        "tests/test_examples_in_readme.py::test_readme_carries_the_tested_example",
        "tests/integrations/test_aiohttp.py",
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]

"""The package's layout is its architecture: few root modules, folders by concern, no circles.

The layer order itself is import-linter's contract in pyproject.toml (``nox -s lint``);
these tests keep what that contract cannot say.
"""

from __future__ import annotations

import re
import tomllib

import grimp
import pytest

import cryptopay_async
from tests.support import ROOT

PACKAGE = ROOT / "cryptopay_async"


def test_the_package_root_holds_at_most_ten_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 10, modules


@pytest.mark.parametrize(
    "folder",
    [
        "_transports",
        "_runtime",
        "_errors",
        "_decoding",
        "_telemetry",
        "_otel",
        "models",
        "middleware",
        "ratelimit",
        "resources",
        "callbacks",
        "integrations",
        "testing",
        "cli",
    ],
)
def test_each_concern_is_a_package_that_says_what_it_holds(folder: str) -> None:
    init = PACKAGE / folder / "__init__.py"
    assert init.is_file(), folder
    assert init.read_text().lstrip().startswith('"""'), f"{folder}/__init__.py has no docstring"


def test_no_module_imports_itself_back_through_others() -> None:
    """Zero import circles, counting imports inside functions and under TYPE_CHECKING."""
    graph = grimp.build_graph("cryptopay_async", cache_dir=None)
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module != imported and graph.chain_exists(imported, module):
                circles.append(f"{module} -> {imported} -> ... -> {module}")
    assert circles == []


@pytest.mark.parametrize("name", cryptopay_async.__all__)
def test_public_names_show_their_public_module(name: str) -> None:
    value = getattr(cryptopay_async, name)
    if isinstance(value, type) and not getattr(value, "_is_protocol", False):
        assert value.__module__ == "cryptopay_async", value


def test_an_exception_shows_its_public_path_in_a_traceback() -> None:
    error = cryptopay_async.RecoveryError("lost", maybe_processed=True)
    assert repr(type(error)) == "<class 'cryptopay_async.RecoveryError'>"


ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()


def documented_layers() -> list[str]:
    """The ```text block under "## Layers": one layer per line, then its description."""
    section = ARCHITECTURE.split("## Layers", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    return [re.split(r"\s{2,}", line.strip(), maxsplit=1)[0] for line in block.splitlines()]


def contract_layers() -> list[str]:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in contracts["contracts"] if c["type"] == "layers"]
    return list(layers["layers"])


def test_architecture_md_shows_the_layer_order_that_import_linter_checks() -> None:
    assert documented_layers() == contract_layers()


def concern_table_entries() -> list[str]:
    section = ARCHITECTURE.split("## Where each concern lives", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def test_every_concern_folder_of_the_package_has_one_row() -> None:
    folders = {p.parent.name + "/" for p in PACKAGE.glob("*/__init__.py")}
    assert folders <= set(concern_table_entries())


@pytest.mark.parametrize("entry", concern_table_entries())
def test_each_row_of_the_concern_table_names_one_folder_or_module_that_exists(entry: str) -> None:
    assert re.fullmatch(r"\w+/|\w+\.py", entry), f"{entry}: one folder or one root module"
    if entry == "codegen/":
        assert (ROOT / "codegen" / "__init__.py").is_file()
    elif entry.endswith("/"):
        assert (PACKAGE / entry / "__init__.py").is_file(), entry
    else:
        assert (PACKAGE / entry).is_file(), entry

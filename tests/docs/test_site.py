"""The site builds in strict mode and its API reference documents every public name."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

# Each public module, and the reference page that documents it.
REFERENCE = {
    "cryptopay_async": "client",
    "cryptopay_async.models": "models",
    "cryptopay_async.callbacks": "callbacks",
    "cryptopay_async.ratelimit": "ratelimit",
    "cryptopay_async.middleware": "middleware",
    "cryptopay_async.testing": "testing",
    "cryptopay_async.integrations.fastapi": "integrations",
    "cryptopay_async.integrations.aiohttp": "integrations",
}
PUBLIC = [
    (module, name) for module in REFERENCE for name in importlib.import_module(module).__all__
]


def test_every_public_module_is_listed() -> None:
    assert len(PUBLIC) > 100


@pytest.mark.parametrize(("module", "name"), PUBLIC)
def test_the_reference_documents_the_public_name(built_site: Path, module: str, name: str) -> None:
    page = (built_site / "reference" / REFERENCE[module] / "index.html").read_text()
    assert f'id="{module}.{name}"' in page


@pytest.mark.parametrize(
    "page", ["architecture", "changelog", "guides/performance", "getting-started"]
)
def test_included_files_and_the_plot_are_in_the_site(built_site: Path, page: str) -> None:
    html = (built_site / page / "index.html").read_text()
    assert "--8&lt;--" not in html  # every snippet was included
    if page == "guides/performance":
        assert 'src="../../assets/throughput.png"' in html
        assert (built_site / "assets" / "throughput.png").stat().st_size > 10_000

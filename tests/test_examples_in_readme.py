"""The README shows the example apps exactly as they are in examples/ (and so as tested)."""

from __future__ import annotations

import pytest

from tests.support import ROOT


@pytest.mark.parametrize("name", ["fastapi_app.py", "aiohttp_app.py"])
def test_readme_carries_the_tested_example(name: str) -> None:
    source = (ROOT / "examples" / name).read_text()
    code = source[source.index('"""', 3) + 3 :].strip()
    assert code in (ROOT / "README.md").read_text()

"""The committed generated code is what tests/codegen.py writes from the API description."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest

from tests import codegen
from tests.support import DATA


@pytest.mark.parametrize("path", [codegen.MODELS_OUT, codegen.RESOURCES_OUT], ids=lambda p: p.name)
def test_generated_code_is_fresh(path: Path) -> None:
    fresh = codegen.render()[path]
    assert path.read_text() == fresh, (
        f"{path.name} is stale: run `python -m nox -s codegen` and commit the result"
    )


def _shared_dir() -> Path | None:
    configured = os.environ.get("CRYPTOPAY_SHARED_DIR")
    candidate = Path(configured) if configured else codegen.ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None


@pytest.mark.parametrize(("ours", "theirs"), [("api", "api"), ("fixtures", "fixtures")])
def test_vendored_copies_match_the_shared_reference(ours: str, theirs: str) -> None:
    shared = _shared_dir()
    if shared is None:
        if os.environ.get("CI"):  # CI always has it beside the clone: never skip there
            pytest.fail("no shared/ reference beside this checkout in CI")
        pytest.skip("no shared/ reference beside this checkout (set CRYPTOPAY_SHARED_DIR)")
    mine, reference = DATA / ours, shared / theirs
    names = sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*") if p.is_file())
    wanted = sorted(
        p.relative_to(reference).as_posix()
        for p in reference.rglob("*")
        if p.is_file() and (ours != "api" or p.suffix == ".json")
    )
    assert names == wanted
    _, mismatch, errors = filecmp.cmpfiles(mine, reference, names, shallow=False)
    assert (mismatch, errors) == ([], [])

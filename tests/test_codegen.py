"""The generated modules are what ``python -m codegen`` writes from the one API description,
and that description (with the recorded bodies) is a verbatim copy of the shared reference."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

import codegen
from codegen._source import LINE_LENGTH, Group, render
from tests.support import API_SPEC, FIXTURES, ROOT


@pytest.mark.parametrize("path", list(codegen.render()), ids=lambda p: p.parent.name)
def test_generated_code_is_fresh(path: Path) -> None:
    fresh = codegen.render()[path]
    assert path.read_text() == fresh, (
        f"{path.relative_to(ROOT)} is stale: run `python -m codegen` and commit the result"
    )


def test_check_mode_reports_nothing_stale() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_declarations_spell_out_only_what_differs_from_the_defaults() -> None:
    text = codegen.render()[codegen.RESOURCES_OUT]
    for default in ("exactly_one=()", "deprecated=False", "paginated=False", "path_params="):
        assert default not in text
    assert text.count("deprecated=True") == 1  # risks.score
    assert text.count("exactly_one=") == 2


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["a", "b"], ["f(a, b)"]),
        (["x" * 60, "y" * 60], ["f(", f"    {'x' * 60},", f"    {'y' * 60},", ")"]),
    ],
    ids=["fits", "explodes"],
)
def test_layout_is_one_line_when_it_fits_else_one_item_per_line(
    items: list[str], expected: list[str]
) -> None:
    assert render(Group("f(", items, ")"), 0) == expected
    assert all(len(line) <= LINE_LENGTH for line in expected)


def _shared_dir() -> Path | None:
    configured = os.environ.get("CRYPTOPAY_SHARED_DIR")
    candidate = Path(configured) if configured else ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None


@pytest.mark.parametrize(
    ("mine", "theirs", "suffix"),
    [(API_SPEC, "api", ".json"), (FIXTURES, "fixtures", "")],
    ids=["api", "fixtures"],
)
def test_vendored_copies_match_the_shared_reference(mine: Path, theirs: str, suffix: str) -> None:
    shared = _shared_dir()
    if shared is None:
        if os.environ.get("CI"):  # CI always has it beside the clone: never skip there
            pytest.fail("no shared/ reference beside this checkout in CI")
        pytest.skip("no shared/ reference beside this checkout (set CRYPTOPAY_SHARED_DIR)")
    reference = shared / theirs

    def files(root: Path) -> list[str]:
        return sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.name.endswith(suffix) and "__pycache__" not in p.parts
        )

    names = files(mine)
    assert names == files(reference)
    _, mismatch, errors = filecmp.cmpfiles(mine, reference, names, shallow=False)
    assert (mismatch, errors) == ([], [])


@pytest.mark.parametrize(
    "table", ["SUMMARIES", "MODEL_DOCS", "EXACTLY_ONE", "CREATE_RECOVERY", "COMMIT_RECOVERY"]
)
def test_the_generator_names_an_operation_or_model_its_declarations_miss_or_misspell(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen import _spec

    operations, model_names = set(_spec.SUMMARIES), set(_spec.MODEL_DOCS)
    if table == "SUMMARIES":  # an operation added to endpoints.json without its summary
        operations.add("widgets.frobnicate")
    elif table == "MODEL_DOCS":  # a model added to models.json without its line
        model_names.add("widgets.frobnicate")
    else:  # a rule keyed by a name no endpoint has
        monkeypatch.setitem(getattr(_spec, table), "widgets.frobnicate", ())
    with pytest.raises(ValueError, match=rf"{table}.*widgets\.frobnicate"):
        _spec.check_declarations(operations, model_names)

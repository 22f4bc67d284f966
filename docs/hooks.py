"""MkDocs hook: publish the benchmark plot from where ``nox -s bench`` writes it.

``benchmarks/throughput.png`` is outside ``docs/``; copying it there by hand would leave a
second copy to go stale, so the build adds it to the site as ``assets/throughput.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {"assets/throughput.png": ROOT / "benchmarks" / "throughput.png"}


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    for uri, source in PUBLISHED.items():
        files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files

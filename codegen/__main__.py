"""``python -m codegen [--check]``: write the generated modules, or list the stale ones."""

from __future__ import annotations

import argparse
import sys

from codegen import render
from codegen._spec import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = 0
    for path, text in render().items():
        name = path.relative_to(ROOT).as_posix()
        if path.exists() and path.read_text() == text:
            continue
        stale += 1
        if args.check:
            print(f"stale: {name}")
        else:
            path.write_text(text)
            print(f"wrote {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

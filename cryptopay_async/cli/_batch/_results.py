"""The results file of a batch: read back before a rerun, appended as rows finish.

A real run only ever appends to its results file, so a run killed at any point (even
mid-line) leaves every line written before; the last line for a row wins. Reading it
back ignores what a kill or a hand edit can leave: an unterminated last line, a line
that does not parse, a row number that is not a number. A row ignored that way counts
as not done and is settled again through its ``custom_id`` (409, read back, checked),
which never creates anything twice.

At the end the file is rewritten in row order, one line per row, beside it and then
renamed over it. The lookups and the sort go through SQLite (the standard library's
``sqlite3``) in a temporary file, so memory stays bounded whatever the number of rows.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs

RESULT_FIELDS = ("row", "custom_id", "id", "status", "outcome", "error", "kind")
DONE = frozenset({"created", "already-existed"})
DRY_STATUS = "not sent (dry run)"


@attrs.define
class Outcome:
    row: int
    custom_id: str
    id: str = ""
    status: str = ""
    outcome: str = "failed"
    error: str = ""
    kind: str = ""


class ResultsMismatch(ValueError):
    """A results file that belongs to another input or kind: never trusted."""


def is_json_lines(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def recorded(path: Path) -> Iterator[dict[str, Any]]:
    """The complete, readable records of a results file, in file order."""
    if not path.exists():
        return
    with path.open("rb") as raw:
        raw.seek(0, os.SEEK_END)
        size = raw.tell()
        if size == 0:
            return
        raw.seek(size - 1)
        complete = raw.read(1) == b"\n"  # a kill mid-line leaves no line end
    with path.open(encoding="utf-8", errors="replace", newline="") as text:
        records = _json_records(text) if is_json_lines(path) else _csv_records(text)
        held: dict[str, Any] | None = None
        for record in records:
            if held is not None:
                yield held
            held = record
        if held is not None and complete:
            yield held


def _json_records(text: IO[str]) -> Iterator[dict[str, Any]]:
    for line in text:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and (record := _checked(value)) is not None:
            yield record


def _csv_records(text: IO[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(text)
    try:
        for value in reader:
            if None in value or None in value.values():
                continue  # more or fewer values than columns: cut off or edited
            if (record := _checked(value)) is not None:
                yield record
    except csv.Error:
        return


def _checked(value: dict[Any, Any]) -> dict[str, Any] | None:
    try:
        row = int(str(value.get("row", "")).strip())
    except ValueError:
        return None
    if row < 1:
        return None
    record: dict[str, Any] = {field: str(value.get(field) or "") for field in RESULT_FIELDS}
    record["row"] = row
    return record


class Store:
    """What a run needs to look up or sort, in a temporary SQLite file."""

    def __init__(self, directory: Path | None = None) -> None:
        """In a file under ``directory``, or in memory (small inputs, tests)."""
        where = ":memory:" if directory is None else str(directory / "batch.sqlite3")
        self.db = sqlite3.connect(where, isolation_level=None)
        self.db.executescript(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE prior (row INTEGER PRIMARY KEY, custom_id TEXT, id TEXT,
                                status TEXT, outcome TEXT);
            CREATE TABLE seen (custom_id TEXT PRIMARY KEY, row INTEGER);
            CREATE TABLE final (row INTEGER PRIMARY KEY, record TEXT);
            CREATE TABLE unverified (id TEXT PRIMARY KEY, row INTEGER, custom_id TEXT);
            """
        )

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def close(self) -> None:
        self.db.close()

    def load_prior(self, records: Iterable[dict[str, Any]], kind: str, results: Path) -> int:
        """Keep the last record per row of a real run; refuse another kind's results."""
        self._begin()
        for record in records:
            if record["kind"] and record["kind"] != kind:
                raise ResultsMismatch(
                    f"{results} holds the results of a batch of {record['kind']}, not of "
                    f"{kind}: give --results another file"
                )
            if record["status"] == DRY_STATUS:
                continue
            self.db.execute(
                "INSERT OR REPLACE INTO prior VALUES (?, ?, ?, ?, ?)",
                (
                    record["row"],
                    record["custom_id"],
                    record["id"],
                    record["status"],
                    record["outcome"],
                ),
            )
        self.db.execute("COMMIT")
        (count,) = self.db.execute("SELECT count(*) FROM prior").fetchone()
        return int(count)

    def prior(self, row: int) -> tuple[str, str, str, str] | None:
        """(custom_id, id, status, outcome) recorded for ``row`` by an earlier run."""
        found = self.db.execute(
            "SELECT custom_id, id, status, outcome FROM prior WHERE row = ?", (row,)
        ).fetchone()
        return None if found is None else (found[0], found[1], found[2], found[3])

    def start_verifying(self) -> int:
        """Put every row recorded as done aside to be confirmed; how many there are."""
        done = ", ".join(f"'{outcome}'" for outcome in sorted(DONE))
        self.db.execute(
            "INSERT OR IGNORE INTO unverified SELECT id, row, custom_id FROM prior "
            f"WHERE id != '' AND outcome IN ({done})"
        )
        (count,) = self.db.execute("SELECT count(*) FROM unverified").fetchone()
        return int(count)

    def confirm(self, object_id: str, custom_id: str) -> bool:
        """True when ``object_id`` was recorded (with this ``custom_id``) and is now confirmed."""
        cursor = self.db.execute(
            "DELETE FROM unverified WHERE id = ? AND custom_id = ?", (object_id, custom_id)
        )
        return cursor.rowcount > 0

    def forget_unconfirmed(self) -> list[tuple[int, str]]:
        """The rows left unconfirmed, now counted as not done."""
        rows = self.db.execute("SELECT row, custom_id FROM unverified ORDER BY row").fetchall()
        self.db.execute("DELETE FROM prior WHERE row IN (SELECT row FROM unverified)")
        self.db.execute("DELETE FROM unverified")
        return [(int(row), str(custom_id)) for row, custom_id in rows]

    def last_prior_row(self) -> int:
        (row,) = self.db.execute("SELECT max(row) FROM prior WHERE custom_id != ''").fetchone()
        return int(row or 0)

    def first_row_of(self, custom_id: str, row: int) -> int | None:
        """The earlier row that has ``custom_id``, or None (and ``row`` is remembered)."""
        found = self.db.execute("SELECT row FROM seen WHERE custom_id = ?", (custom_id,)).fetchone()
        if found is not None:
            return int(found[0])
        self._begin()  # one transaction for all the rows: committed with the next COMMIT
        self.db.execute("INSERT INTO seen VALUES (?, ?)", (custom_id, row))
        return None

    def sorted_records(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """One record per row (the last one given), in row order."""
        self._begin()
        self.db.executemany(
            "INSERT OR REPLACE INTO final VALUES (?, ?)",
            ((r["row"], json.dumps(r)) for r in records),
        )
        self.db.execute("COMMIT")
        for (text,) in self.db.execute("SELECT record FROM final ORDER BY row"):
            yield json.loads(text)


def holds_a_real_run(path: Path) -> bool:
    return any(record["status"] != DRY_STATUS for record in recorded(path))


class ResultsFile:
    """Results as rows finish: CSV, or JSON Lines when the file name says so.

    ``append`` (a real run) keeps every line already there; otherwise the file starts empty.
    """

    def __init__(self, path: Path, *, json_lines: bool | None = None, append: bool = False) -> None:
        self.path = path
        self.json = is_json_lines(path) if json_lines is None else json_lines
        fields: tuple[str, ...] = RESULT_FIELDS
        fresh = not (append and path.exists() and path.stat().st_size > 0)
        if not fresh and not self.json:
            with path.open(encoding="utf-8", errors="replace", newline="") as existing:
                header = next(csv.reader(existing), None)
            fields = tuple(header) if header and "row" in header else RESULT_FIELDS
        self._file: IO[str] = path.open("w" if fresh else "a", encoding="utf-8", newline="")
        if not fresh:
            with path.open("rb") as raw:
                raw.seek(-1, os.SEEK_END)
                if raw.read(1) != b"\n":
                    self._file.write("\n")  # end the line a kill cut off
        self._csv = csv.DictWriter(self._file, fieldnames=fields, extrasaction="ignore")
        if fresh and not self.json:
            self._csv.writeheader()
        self._file.flush()

    def write(self, outcome: Outcome | dict[str, Any]) -> None:
        record = attrs.asdict(outcome) if isinstance(outcome, Outcome) else outcome
        if self.json:
            self._file.write(json.dumps(record) + "\n")
        else:
            self._csv.writerow(record)
        self._file.flush()

    def close(self, store: Store) -> None:
        """Rewrite the file in row order, one line per row (the last written wins).

        Written beside it and then renamed over it: a crash while rewriting leaves the
        file as written so far, never a truncated one.
        """
        self._file.close()
        sorted_path = self.path.with_name(f".{self.path.name}.sorting")
        replacement = ResultsFile(sorted_path, json_lines=self.json)
        try:
            for record in store.sorted_records(recorded(self.path)):
                replacement.write(record)
        finally:
            replacement._file.close()
        os.replace(sorted_path, self.path)

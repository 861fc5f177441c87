"""Reading user-supplied CSV and JSON-lines files as numbered dict rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from soundalike.ingest.errors import InputError


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, object] | str]]:
    """(line number, row) pairs from a CSV (header first) or a JSON-lines file.

    A malformed JSON line yields its error message instead of a dict, so callers can report it.
    """
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, f"invalid JSON: {exc.msg}"
                    continue
                yield number, row if isinstance(row, dict) else "a JSON line must be an object"
        return
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        for row in reader:
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k is not None}

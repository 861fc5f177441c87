"""Reading user-supplied CSV and JSON-lines files as numbered dict rows.

Text is UTF-8 (a byte-order mark is skipped) or UTF-16 with its byte-order mark; any other encoding,
or a binary file, is refused as a whole with one clear error before a row is read, so an import never
stops half-way through a file.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from soundalike.ingest.errors import InputError

CHUNK_BYTES = 1 << 20
JSON_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})
REASONS_IN_REFUSAL = 3


@dataclass
class RowReport:
    """Outcome of importing a file row by row: rows stored, rows already stored, and each refused row."""

    imported: int = 0
    duplicates: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"imported": self.imported, "duplicates": self.duplicates, "errors": self.errors}


def text_encoding(head: bytes) -> str:
    """The codec for a file starting with ``head``: from its byte-order mark, else UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def check_text(path: Path) -> str:
    """The encoding ``path`` decodes with; InputError naming the offset when it is binary or not UTF-8/16."""
    with path.open("rb") as handle:
        encoding = text_encoding(handle.read(4))
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        while chunk := handle.read(CHUNK_BYTES):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path} is not UTF-8 text (byte 0x{chunk[exc.start]:02x} at offset {offset + exc.start}); "
                    "save it as UTF-8 and import it again"
                ) from exc
            if "\x00" in text:
                raise InputError(f"{path} holds NUL characters: a binary file, not CSV or JSON lines")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} ends inside a multi-byte character; it is not UTF-8 text") from exc
    return encoding


def missing_columns(header: Sequence[str], required: Sequence[Sequence[str]]) -> list[str]:
    """Requirements the header does not meet. Each requirement lists alternatives; an alternative is a
    column name or names joined by ``+`` that must all be present (``("track", "artist+title")``)."""
    present = {h.strip().lower() for h in header if h}
    return [
        " or ".join(requirement)
        for requirement in required
        if not any(set(alternative.split("+")) <= present for alternative in requirement)
    ]


def import_rows(
    path: Path, store: Callable[[dict[str, object]], bool], *, required: Sequence[Sequence[str]] = ()
) -> RowReport:
    """Pass each row of ``path`` to ``store``, which answers whether it stored the row or found it already stored.

    A malformed line, or a row ``store`` refuses with InputError, is reported with its line number and the
    other rows go on. When rows were refused and none was taken, the file as a whole is refused with
    InputError naming the first reasons.
    """
    report = RowReport()
    for line, row in read_rows(path, required=required):
        try:
            if isinstance(row, str):
                raise InputError(row)
            stored = store(row)
        except InputError as exc:
            report.errors.append({"line": line, "reason": str(exc)})
            continue
        if stored:
            report.imported += 1
        else:
            report.duplicates += 1
    if report.errors and not report.imported + report.duplicates:
        reasons = "; ".join(f"line {e['line']}: {e['reason']}" for e in report.errors[:REASONS_IN_REFUSAL])
        more = len(report.errors) - REASONS_IN_REFUSAL
        raise InputError(f"no row of {path} could be imported ({reasons}{f'; {more} more' if more > 0 else ''})")
    return report


def read_rows(path: Path, *, required: Sequence[Sequence[str]] = ()) -> Iterator[tuple[int, dict[str, object] | str]]:
    """(line number, row) pairs from a CSV (header first) or a JSON-lines file; ``import_rows`` is the usual caller.

    ``required`` lists what a CSV header must hold (see ``missing_columns``); a header
    without them is refused once, as a whole. A malformed JSON line yields its error message instead of a
    dict.
    """
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    encoding = check_text(path)
    if path.suffix.lower() in JSON_SUFFIXES:
        with path.open(encoding=encoding) as handle:
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
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        missing = missing_columns(reader.fieldnames, required)
        if missing:
            raise InputError(
                f"{path} lacks the column(s) {', '.join(missing)}; its header is {', '.join(reader.fieldnames)}"
            )
        for row in reader:
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k is not None}

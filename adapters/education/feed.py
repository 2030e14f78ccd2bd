"""Enrolment files from the education bureau, left in a drop folder: finding them, reading them
row by row into push items, archiving them. No database here (gateway/sync/feed_drops.py stores
what this reads).

The exchange platform (数据共享交换平台) delivers files into the folder `LIG_FEED_DROP_FOLDER`.
**Producers write a file under a temporary name (`*.tmp`, `*.part`) and rename it to `*.csv`
once complete**: only `*.csv` files are read (a rename within one file system is atomic), so a
file still being written is never half read. Files are taken oldest first, and moved to
`<folder>/archive/<YYYY-MM-DD>/` once stored. A file is known by its content (SHA-256), not its
name: delivered again, under any name, it is archived without being read again.

A file is UTF-8 (a byte-order mark, as Excel and WPS write one, is allowed), comma-separated
with a header row, one enrolment per row; columns may come in any order, others are ignored:

    zcjlh   注册记录号, the enrolment record's id                     → agency_event_id
    bbh     版本号 (a corrected row comes again with a higher one)   → revision
    xjh     学籍号, the national student number (not kept)
    sfzjh   身份证件号, the student's resident ID number              → id_number
    xm      姓名 (not kept)
    xddm    学段代码: 0 学前 1 小学 2 初中 3 高中 4 中职 5 高等       → details.stage
    rxrq    入学日期, the day of enrolment, YYYY-MM-DD or YYYYMMDD   → occurred_on
    xfje    学费金额, the year's tuition, yuan                       → details.fees, with
    zsfje   住宿费金额, the year's board, yuan (blank: a day pupil)     the board added

A bad row (the wrong number of fields, a last row cut short, text that is not UTF-8 or not CSV,
a value the push API refuses) is one rejected item: it never stops the rows after it.
"""

from __future__ import annotations

import csv
import hashlib
import io
from array import array
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from adapters.convert import (
    MISSING,
    Item,
    Unmapped,
    code,
    day,
    field,
    present,
    unreadable,
    whole,
    yuan,
)
from gateway.domain.enums import EventKind, StudentStage
from gateway.pushes.ingest import Unreadable

KEY, VERSION = "zcjlh", "bbh"
COLUMNS = ("zcjlh", "bbh", "xjh", "sfzjh", "xm", "xddm", "rxrq", "xfje", "zsfje")
REQUIRED = ("zcjlh", "sfzjh", "xddm", "rxrq", "xfje")
STAGES = {
    "0": StudentStage.PRESCHOOL,
    "1": StudentStage.PRIMARY,
    "2": StudentStage.JUNIOR_SECONDARY,
    "3": StudentStage.SENIOR_SECONDARY,
    "4": StudentStage.VOCATIONAL,
    "5": StudentStage.HIGHER,
}
# Our item fields as the bureau's columns, so that a reported problem names the column to fix.
COLUMN_OF = {
    "agency_event_id": "zcjlh",
    "revision": "bbh",
    "id_number": "sfzjh",
    "occurred_on": "rxrq",
    "details.stage": "xddm",
    "details.fees": "xfje, zsfje",
}
ARCHIVE = "archive"
# A field longer than this is not an enrolment (csv's own limit is 128 KiB).
MAX_FIELD = 4096


def _fees(row: Mapping[str, Any]) -> Any:
    tuition, board = field(row, "xfje", yuan), field(row, "zsfje", yuan)
    if board is MISSING or not isinstance(tuition, Decimal):
        return tuition
    if not isinstance(board, Decimal):
        return board  # not a number: the push API says so
    return tuition + board


def normalise(row: Mapping[str, Any]) -> Item:
    """One row (header → text) into a SCHOOL_ENROLMENT event item."""
    try:
        stage = code(row, "xddm", STAGES)
    except Unmapped as error:
        return unreadable(dict(row), str(error), key=KEY, version=VERSION)
    return present(
        agency_event_id=field(row, KEY),
        revision=field(row, VERSION, whole),
        id_number=field(row, "sfzjh"),
        kind=EventKind.SCHOOL_ENROLMENT.value,
        occurred_on=field(row, "rxrq", day),
        details=present(stage=stage.value, fees=_fees(row)),
    )


def pending(folder: Path) -> list[Path]:
    """The complete files waiting in the folder (`*.csv`, not hidden), oldest first."""
    files = [
        path
        for path in folder.iterdir()
        if path.suffix.lower() == ".csv" and not path.name.startswith(".") and path.is_file()
    ]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def archive(folder: Path, path: Path, today: date) -> Path:
    """Move a processed file to `<folder>/archive/<today>/`, never over another file."""
    target_dir = folder / ARCHIVE / today.isoformat()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.rename(target)
    return target


class BadFile(ValueError):
    """A file that cannot be read at all (no usable header): reported, archived, not stored."""


class EnrolmentFile:
    """One file's rows as push items, read as they are consumed (memory holds one row and, for
    the report, the line each item began on)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = array("L")  # item index → the line its row began on
        self._file: IO[str] | None = None

    def __enter__(self) -> EnrolmentFile:
        # Hashed and read through one open file: a file renamed over this name meanwhile cannot
        # be stored under the hash of the one it replaced (`digest` is what was read).
        raw = self.path.open("rb")
        try:
            digest = hashlib.sha256()
            last = b""
            while chunk := raw.read(1024 * 1024):
                digest.update(chunk)
                last = chunk[-1:]
            self.digest = digest.hexdigest()
            # A producer ends every row with a line break; a file that does not end with one
            # was cut short, and its last row with it (even if its fields look complete).
            self.cut_short = last not in (b"", b"\n")
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
        # surrogateescape: bytes that are not UTF-8 reach us as markers, so that one bad row is
        # reported instead of ending the file.
        self._file = io.TextIOWrapper(
            raw, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        try:
            self._reader = csv.reader(self._file, strict=True)
            self.header = self._header()
        except BaseException:
            self._file.close()
            raise
        return self

    def _header(self) -> list[str]:
        try:
            header = [name.strip().lower() for name in next(self._reader)]
        except (StopIteration, csv.Error) as error:
            raise BadFile(f"no header row ({error or 'the file is empty'})") from None
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise BadFile(f"the header lacks the columns {', '.join(missing)}")
        if len(set(header)) != len(header):
            raise BadFile("the header names a column twice")
        return header

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()

    def items(self) -> Iterator[Item]:
        """Each row's item, in order, bad rows as `Unreadable` with the reason."""
        current = self._next()
        while current is not None:
            following = self._next()
            line, row, error = current
            if error is None and following is None and self.cut_short:
                error = "the file ends in the middle of this row (cut short)"
            self.lines.append(line)
            yield self._item(row, error)
            current = following

    def _next(self) -> tuple[int, list[str], str | None] | None:
        """The next non-empty row with the line it began on, or a CSV error for it."""
        while True:
            line = self._reader.line_num + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as error:
                return line, [], f"not CSV: {error}"
            if row:
                return line, row, None

    def _item(self, row: list[str], error: str | None) -> Item:
        if error is None and len(row) != len(self.header):
            error = f"{len(row)} fields where the header has {len(self.header)}"
        if error is None and any(len(value) > MAX_FIELD for value in row):
            error = f"a field longer than {MAX_FIELD} characters"
        if error is None:
            try:
                for value in row:
                    value.encode("utf-8")
            except UnicodeEncodeError:
                error = "not UTF-8 text"
        if error is not None:
            return Unreadable(error, "\x1f".join(row).encode("utf-8", "surrogateescape"))
        return normalise(dict(zip(self.header, row, strict=True)))

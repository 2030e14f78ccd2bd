"""The education bureau's exchange platform, simulated: enrolment files dropped into a folder
(see `feed.py` for the format), deterministic from a seed, written as a real producer must
(under `*.part`, then renamed to `*.csv`).

    POST /api/drops?rows=N   → writes drop number 1, 2, 3 … and answers what it wrote
    lig simulate education --drop-folder ./inbox --fault bad_record=0.02,truncate=0.3

Drop k holds `rows` enrolments; from the second drop on, about one row in ten corrects a row of
the drop before (the same record id, version 2, other fees). Faults: `bad_record` (a row broken
in the bureau's format: a field missing, an ID number with a wrong check character, an unknown
stage code, fees that are not a number, 30 February), `truncate` (the file cut off in the middle
of its last row); the transport faults on /api. `drop_rows` tells a test which rows are bad.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from random import Random
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.education.feed import COLUMNS
from adapters.faults import Faults, TransportFaults
from adapters.feeds import synthetic

CORRECTIONS = 0.1
# 学段代码 and the school-age birth years of each stage, relative to the enrolment year.
STAGE_AGES = {"0": 3, "1": 6, "2": 12, "3": 15, "4": 15, "5": 18}
# Yearly tuition (yuan) by stage: compulsory schooling (primary, junior secondary) is free.
YEARLY_FEES = {
    "0": (3000, 9000),
    "1": (0, 0),
    "2": (0, 0),
    "3": (1800, 4000),
    "4": (0, 3000),
    "5": (4500, 8000),
}


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # in the file: the header is line 1
    key: str
    version: int
    values: dict[str, str]
    broken: str | None = None  # how a fault broke it (bad_record, truncate)


@dataclass(frozen=True, slots=True)
class Drop:
    path: Path
    rows: list[Row]
    truncated: bool


def _original(seed: int, index: int, j: int, id_numbers: Sequence[str] | None) -> dict[str, str]:
    """Row j of drop `index` as first delivered."""
    draw = synthetic.rng("education", seed, index, j)
    stage = draw.choice(sorted(STAGE_AGES))
    enrolled = synthetic.day(draw)
    number = synthetic.person(draw, id_numbers)
    if not id_numbers:  # a made-up pupil of the right age for the stage
        year = enrolled.year - STAGE_AGES[stage] - draw.randint(0, 2)
        number = synthetic.id_number(draw, year, year)
    low, high = YEARLY_FEES[stage]
    board = draw.random() < 0.3 and stage in "345"
    return {
        "zcjlh": f"ZC{synthetic.QIDONG}{index:04d}{j:06d}",
        "bbh": "1",
        "xjh": f"G{number}",
        "sfzjh": number,
        "xm": synthetic.name(draw),
        "xddm": stage,
        "rxrq": f"{enrolled:%Y-%m-%d}" if draw.random() < 0.7 else f"{enrolled:%Y%m%d}",
        "xfje": f"{draw.randint(low // 100, high // 100) * 100}.00",
        "zsfje": f"{draw.randint(6, 15) * 100}.00" if board else "",
    }


def _spoil(draw: Random, values: dict[str, str]) -> tuple[dict[str, str], str]:
    how = draw.choice(("fields", "id", "stage", "fees", "day"))
    if how == "fields":
        del values["xm"]  # one field short: the row no longer fits the header
        return values, "a field missing"
    if how == "id":
        values["sfzjh"] = synthetic.wrong_check(values["sfzjh"])
        return values, "sfzjh with a wrong check character"
    if how == "stage":
        values["xddm"] = "8"
        return values, "unknown xddm 8"
    if how == "fees":
        values["xfje"] = "12O0.00"
        return values, "xfje with a letter O"
    values["rxrq"] = "2026-02-30"
    return values, "rxrq on 30 February"


def drop_rows(
    seed: int,
    index: int,
    rows: int,
    faults: Faults | None = None,
    id_numbers: Sequence[str] | None = None,
) -> tuple[list[Row], bool]:
    """The rows of drop `index` (1, 2 …) and whether the file is cut short (its last row then
    broken too)."""
    out: list[Row] = []
    corrected: set[int] = set()
    for i in range(rows):
        draw = synthetic.rng("education", seed, index, i, "row")
        j = draw.randrange(rows)
        if index > 1 and draw.random() < CORRECTIONS and j not in corrected:
            corrected.add(j)
            values = _original(seed, index - 1, j, id_numbers)
            values["bbh"] = "2"
            values["xfje"] = f"{int(float(values['xfje'])) + draw.randint(1, 9) * 100}.00"
        else:
            values = _original(seed, index, i, id_numbers)
        row = Row(i + 2, values["zcjlh"], int(values["bbh"]), values)
        if faults is not None and faults.chance("bad_record", f"education:{index}:{i}"):
            spoilt, how = _spoil(synthetic.rng("education", seed, index, i, "spoil"), dict(values))
            row = replace(row, values=spoilt, broken=how)
        out.append(row)
    truncated = bool(out and faults is not None and faults.chance("truncate", f"education:{index}"))
    if truncated:
        out[-1] = replace(out[-1], broken="cut short")
    return out, truncated


def render(rows: Sequence[Row], truncated: bool) -> bytes:
    """The file: a BOM, the header, the rows (CRLF, as csv writes), the last cut if truncated."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.values[c] for c in COLUMNS if c in row.values])
    data = ("\ufeff" + text.getvalue()).encode("utf-8")
    if truncated:
        last = text.getvalue().splitlines()[-1].encode("utf-8")
        data = data[: len(data) - 2 - (len(last) + 1) // 2]  # its line end and half of it
    return data


def write_drop(
    folder: Path,
    *,
    seed: int,
    index: int,
    rows: int,
    faults: Faults | None = None,
    id_numbers: Sequence[str] | None = None,
    name: str | None = None,
) -> Drop:
    """Write drop `index` into the folder as a producer must: under `.part`, then renamed."""
    made, truncated = drop_rows(seed, index, rows, faults, id_numbers)
    target = folder / (name or f"enrolment-{seed}-{index:04d}.csv")
    part = target.with_name(target.name + ".part")
    with part.open("wb") as file:
        file.write(render(made, truncated))
        file.flush()
        os.fsync(file.fileno())
    part.rename(target)
    return Drop(target, made, truncated)


def create_app(
    seed: int = 2026,
    faults: Faults | None = None,
    size: int = 1000,
    *,
    drop_folder: str | os.PathLike[str] | None = None,
    id_numbers: Sequence[str] | None = None,
    **_options: Any,
) -> Starlette:
    """`POST /api/drops?rows=N` writes the next drop (N rows, default `size`) into the folder
    (default `$LIG_FEED_DROP_FOLDER`, else ./drop)."""
    faults = faults or Faults()
    folder = Path(drop_folder or os.environ.get("LIG_FEED_DROP_FOLDER") or "drop")
    folder.mkdir(parents=True, exist_ok=True)
    counter = itertools.count(1)

    async def drop(request: Request) -> JSONResponse:
        try:
            rows = int(request.query_params.get("rows", size))
            if not 0 <= rows <= 10_000_000:
                raise ValueError
        except ValueError:
            return JSONResponse({"message": "rows: 0 to 10000000"}, status_code=400)
        made = write_drop(
            folder, seed=seed, index=next(counter), rows=rows, faults=faults, id_numbers=id_numbers
        )
        return JSONResponse(
            {
                "name": made.path.name,
                "rows": len(made.rows),
                "truncated": made.truncated,
                "bad_lines": [row.line for row in made.rows if row.broken],
            },
            status_code=201,
        )

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "folder": str(folder)})

    return Starlette(
        routes=[Route("/api/drops", drop, methods=["POST"]), Route("/health", health)],
        middleware=[Middleware(TransportFaults, faults=faults, paths=("/api",))],
    )

"""Read CSV, TSV, JSON Lines and Parquet files into Arrow tables, with errors a person can act on.

Good files take the fast path (Arrow's multithreaded readers). When a reader fails, the file
is scanned again with the standard library to find the exact line and say what is wrong
with it, because Arrow's messages rarely carry a line number.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

from tailorml.errors import DataError, NotFoundError

__all__ = ["FORMATS", "detect_format", "read_table", "write_frame"]

FORMATS = ("csv", "tsv", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: Path) -> str:
    """The file format from the file name; DataError when it is not one tailorml reads."""
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {path.name} from its extension {path.suffix!r}",
            hint=f"rename it with one of {', '.join(sorted(_SUFFIXES))}, or pass --format ({', '.join(FORMATS)})",
        )
    return fmt


def read_table(path: str | Path, *, format: str | None = None, encoding: str = "utf-8") -> pa.Table:
    """Read a data file into an Arrow table.

    Parameters
    ----------
    path:
        A CSV, TSV, JSON Lines or Parquet file.
    format:
        One of ``FORMATS``; guessed from the extension when omitted.
    encoding:
        Text encoding of CSV, TSV and JSON Lines files.

    Returns
    -------
    pyarrow.Table
        One column per field; text columns are strings.

    Raises
    ------
    NotFoundError
        The file does not exist.
    DataError
        The file is empty, malformed (the message names the line), or not in ``encoding``.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(
            f"data file {path} does not exist",
            hint="check the path (relative paths in tailor.yaml are relative to the spec's folder)",
        )
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty", hint="point to a file with a header and rows")
    if fmt == "parquet":
        table = _read_parquet(path)
    else:
        _check_encoding(path, encoding)
        table = _read_json_lines(path, encoding) if fmt == "jsonl" else _read_delimited(path, fmt, encoding)
    if table.num_columns == 0:
        raise DataError(f"{path} has no columns", hint="the first line must name the columns")
    return table


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(
            f"{path} is not a readable Parquet file: {exc}",
            hint="re-export it, or give a CSV / JSON Lines file instead",
        ) from None


def _check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file once in blocks; name the line of the first undecodable byte."""
    import codecs

    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise DataError(
            f"unknown encoding {encoding!r}", hint="use a Python codec name such as utf-8 or latin-1"
        ) from None
    line = 1
    offset = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                line += block[: exc.start].count(b"\n")
                raise DataError(
                    f"{path} is not valid {encoding}: byte 0x{block[exc.start]:02x} at offset {bad:,} (line {line})",
                    hint="pass the file's real encoding (e.g. --encoding latin-1 or cp1252), "
                    "or convert it: iconv -f latin1 -t utf-8",
                ) from None
            line += block.count(b"\n")
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(
                f"{path} is not valid {encoding}: it ends in the middle of a character",
                hint="the file looks truncated; export it again",
            ) from None


def _read_delimited(path: Path, fmt: str, encoding: str) -> pa.Table:
    from pyarrow import csv as pacsv

    delimiter = "\t" if fmt == "tsv" else ","
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        _raise_csv_problem(path, delimiter, encoding, str(exc))
        raise  # _raise_csv_problem always raises


def _raise_csv_problem(path: Path, delimiter: str, encoding: str, arrow_message: str) -> None:
    name = "TSV" if delimiter == "\t" else "CSV"
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
            for fields in reader:
                if len(fields) != len(header) and fields:
                    raise DataError(
                        f"{path}: line {reader.line_num} has {len(fields)} fields; the header has "
                        f"{len(header)} ({', '.join(header[:8])})",
                        hint='quote values that contain the delimiter ("a, b"), or fix that line',
                        details={"line": reader.line_num},
                    )
        except csv.Error as exc:
            raise DataError(
                f"{path}: line {reader.line_num} is malformed {name}: {exc}",
                hint='check the quotes on that line: a field that starts with " must end with "',
                details={"line": reader.line_num},
            ) from None
    raise DataError(f"{path} is not valid {name}: {arrow_message}", hint="check the file's structure")


def _read_json_lines(path: Path, encoding: str) -> pa.Table:
    from pyarrow import json as pajson

    if encoding.replace("-", "").lower() == "utf8":
        try:
            return pajson.read_json(path, read_options=pajson.ReadOptions(block_size=1 << 24))
        except pa.ArrowInvalid:
            pass  # fall through to the line-by-line reader, which names the bad line
    rows = []
    with path.open(encoding=encoding) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}: line {number} is not valid JSON: {exc.msg} (column {exc.colno})",
                    hint='each line must be one JSON object, e.g. {"text": "...", "label": "..."}',
                    details={"line": number},
                ) from None
            if not isinstance(row, dict):
                raise DataError(
                    f"{path}: line {number} is a JSON {type(row).__name__}, not an object",
                    hint='each line must be one JSON object, e.g. {"text": "...", "label": "..."}',
                    details={"line": number},
                )
            rows.append(row)
    if not rows:
        raise DataError(f"{path} has no rows", hint="add one JSON object per line")
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"{path}: the rows do not share one schema: {exc}",
            hint="give every field the same type on every line (quote numbers used as labels)",
        ) from None


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV, TSV, JSON Lines or Parquet (by extension), atomically."""
    import os

    path = Path(path)
    fmt = detect_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        elif fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

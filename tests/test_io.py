"""Reading files: good files are read fast; bad ones are named with the line and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tailorml.data.io import read_table, write_frame
from tailorml.errors import DataError, NotFoundError

FRAME = pd.DataFrame({"text": ["hello, world", "multi\nline text", "naïve café"], "label": ["a", "b", "a"]})


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.parquet"])
def test_round_trip_every_format(tmp_path: Path, name: str) -> None:
    path = write_frame(FRAME, tmp_path / name)
    table = read_table(path)
    assert table.column_names == ["text", "label"]
    assert table["text"].to_pylist() == FRAME["text"].tolist()


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    write_frame(FRAME, tmp_path / "d.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


def test_csv_row_with_extra_field_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('text,label\n"ok",a\n"fine",b\nbroken,row,c\n')
    with pytest.raises(DataError) as info:
        read_table(path)
    assert "line 4 has 3 fields; the header has 2" in info.value.message
    assert info.value.details == {"line": 4}
    assert "quote" in (info.value.hint or "")


def test_csv_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('text,label\n"two\nlines",a\nx,y,z\n')
    with pytest.raises(DataError, match="line 4"):
        read_table(path)


def test_wrong_encoding_says_so_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nok,a\ncafé,b\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        read_table(path)
    assert "not valid utf-8" in info.value.message and "line 3" in info.value.message
    assert "--encoding latin-1" in (info.value.hint or "")
    table = read_table(path, encoding="latin-1")
    assert table["text"].to_pylist() == ["ok", "café"]


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "a", "label": "x"}) + "\n{not json}\n")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        read_table(path)


def test_json_array_instead_of_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps([{"text": "a"}]))
    with pytest.raises(DataError, match="line 1 is a JSON list, not an object"):
        read_table(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_table(path)


def test_missing_empty_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format") as info:
        read_table(tmp_path / "d.xlsx")
    assert ".csv" in (info.value.hint or "")

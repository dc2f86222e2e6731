"""Finding input files: a local copy, then the mirror directory, then the official URL.

The mirror (environment variable `ZCNAS_MIRROR`) is a directory laid out like the
official downloads, used offline and in CI (e.g. `ZCNAS_MIRROR=../shared/data`).
"""

import hashlib
import os
import shutil
import tempfile
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ZcnasError

MIRROR_ENV = "ZCNAS_MIRROR"


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Resource:
    """A file the project reads: where it may already be, and where it comes from.

    `mirror_paths` are tried relative to the mirror directory, in order; the first
    that exists wins. `url` (optional) is downloaded into the local directory when
    nothing else is found, and checked against `md5` when one is given.
    """

    name: str
    filename: str
    mirror_paths: tuple[str, ...] = ()
    url: str | None = None
    md5: str | None = None
    how_to_obtain: str = ""
    alternatives: tuple[str, ...] = field(default=())

    def candidates(self, local_dir: Path) -> list[Path]:
        paths = [local_dir / self.filename] + [local_dir / alt for alt in self.alternatives]
        mirror = mirror_dir()
        if mirror is not None:
            paths += [mirror / rel for rel in self.mirror_paths]
        return paths


def locate(resource: Resource, local_dir: Path | str, download: bool = True) -> Path:
    """Path of the first existing candidate, else download it; a clear error if neither works."""
    local_dir = Path(local_dir)
    for path in resource.candidates(local_dir):
        if path.exists():
            return path
    if download and resource.url:
        target = local_dir / resource.filename
        try:
            _download(resource.url, target, resource.md5)
            return target
        except OSError as exc:
            failure = f"downloading {resource.url} failed ({exc})"
    else:
        failure = "no download URL is known" if not resource.url else "downloading is disabled"
    tried = "\n  ".join(str(p) for p in resource.candidates(local_dir))
    mirror_note = "" if mirror_dir() else f" (set {MIRROR_ENV} to a mirror directory to look there too)"
    raise ZcnasError(
        f"{resource.name} not found: looked for\n  {tried}\n{failure}{mirror_note}.\n"
        f"{resource.how_to_obtain}".rstrip()
    )


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path, md5: str | None) -> None:
    # A failed download leaves no folder behind that it made (e.g. an empty data/raw/).
    made = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
            tmp_path = Path(tmp.name)
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    shutil.copyfileobj(response, tmp)
            except BaseException:
                tmp_path.unlink(missing_ok=True)
                raise
        if md5 is not None and (actual := md5sum(tmp_path)) != md5:
            tmp_path.unlink(missing_ok=True)
            raise OSError(f"md5 mismatch for {url}: got {actual}, expected {md5}")
        os.replace(tmp_path, target)
    except BaseException:
        for folder in made:  # deepest first; one that holds anything stays
            with suppress(OSError):
                folder.rmdir()
        raise

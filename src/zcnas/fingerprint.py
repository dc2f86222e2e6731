"""Content hashes of the project's own source, so results can name the code that made them."""

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_digest(*parts: str | Path) -> str:
    """A short hash of the named modules or packages of zcnas (e.g. "proxies", "seeding.py").

    Files are hashed by content and path relative to the package, in sorted order, so
    the digest is the same in every clone and changes with any edit to them.
    """
    files: set[Path] = set()
    for part in parts:
        path = PACKAGE / part
        if path.is_dir():
            files.update(path.rglob("*.py"))
        elif path.is_file():
            files.add(path)
        else:
            raise ValueError(f"no zcnas module or package {part!r} under {PACKAGE}")
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path.relative_to(PACKAGE).as_posix()}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

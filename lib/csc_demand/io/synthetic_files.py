"""Which files ``synth`` wrote: their SHA-256 listed in ``_truth/written.sha256`` (``sha256sum`` format), so ingest
can refuse the demo pseudonymisation key for anything else (config.SYNTHETIC_ONLY_KEY)."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LISTING = Path("_truth") / "written.sha256"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_listing(out: Path) -> int:
    """List every data file under ``out`` (names starting with '_' or '.' are not data); returns how many."""
    files = sorted(p for p in out.rglob("*") if p.is_file()
                   and not any(part.startswith(("_", ".")) for part in p.relative_to(out).parts))
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # hashlib lets go of the GIL while it hashes a chunk
        digests = list(pool.map(_sha256, files))
    (out / LISTING).write_text("".join(f"{digest}  {p.relative_to(out).as_posix()}\n"
                                       for digest, p in zip(digests, files, strict=True)))
    return len(files)


def written_by_synth(source: str) -> set[str]:
    """SHA-256 of the files synth wrote under ``source`` (empty when it wrote none there)."""
    listing = Path(source) / LISTING
    if not listing.is_file():
        return set()
    return {line.split()[0] for line in listing.read_text().splitlines() if line.strip()}

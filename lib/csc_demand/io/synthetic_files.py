"""Which files ``synth`` wrote: their SHA-256 listed in ``_truth/written.sha256`` (``sha256sum`` format), so ingest
can refuse the demo pseudonymisation key for anything else (config.SYNTHETIC_ONLY_KEY)."""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LISTING = Path("_truth") / "written.sha256"
REPLACED = ("cin_census", "ssda903", "npd")  # what a new synthetic set replaces in its folder (with _truth, _work)
UNFINISHED = "_work"  # synth's working folder, removed when it finishes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_all(files: list[Path]) -> list[str]:
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # hashlib lets go of the GIL while it hashes a chunk
        return list(pool.map(_sha256, files))


def write_listing(out: Path) -> int:
    """List every data file under ``out`` (names starting with '_' or '.' are not data); returns how many."""
    files = sorted(p for p in out.rglob("*") if p.is_file()
                   and not any(part.startswith(("_", ".")) for part in p.relative_to(out).parts))
    digests = _sha256_all(files)
    (out / LISTING).write_text("".join(f"{digest}  {p.relative_to(out).as_posix()}\n"
                                       for digest, p in zip(digests, files, strict=True)))
    return len(files)


def written_by_synth(source: str) -> set[str]:
    """SHA-256 of the files synth wrote under ``source`` (empty when it wrote none there)."""
    listing = Path(source) / LISTING
    if not listing.is_file():
        return set()
    return {line.split()[0] for line in listing.read_text().splitlines() if line.strip()}


def would_be_lost(out: str | Path) -> list[str]:
    """Files in ``out``'s REPLACED folders that writing a new synthetic set there would delete though synth did not
    write them: their content is not in its listing there, and no unfinished synth's working folder is beside them
    (a run that was stopped leaves its files unlisted)."""
    out = Path(out)
    if (out / UNFINISHED).is_dir():
        return []
    files = sorted(p for folder in REPLACED if (out / folder).is_dir() for p in (out / folder).rglob("*") if p.is_file())
    if not files:
        return []
    written = written_by_synth(str(out))
    return [p.relative_to(out).as_posix() for p, digest in zip(files, _sha256_all(files), strict=True)
            if digest not in written]

"""Find input files under a source folder and tell their kind from the name (docs/formats.md).

Names starting with "_" or "." (files or folders, e.g. synth's ``_truth/``) are skipped. A file whose name matches
no kind is listed as unrecognised so the run summary can say so instead of ignoring it silently.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# kind -> name pattern; groups "la" and "year" where the name carries them
KIND_PATTERNS: dict[str, re.Pattern] = {
    "cin_xml": re.compile(r"^cin_(?P<la>\d{3})_(?P<year>\d{4})\.xml$", re.IGNORECASE),
    "ssda903_header": re.compile(r"^ssda903_(?P<la>\d{3})_(?P<year>\d{4})_header\.csv$", re.IGNORECASE),
    "ssda903_episodes": re.compile(r"^ssda903_(?P<la>\d{3})_(?P<year>\d{4})_episodes\.csv$", re.IGNORECASE),
    "npd_cin": re.compile(r"^cin_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_cpp": re.compile(r"^cpp_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_ks4": re.compile(r"^ks4_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_exclusions": re.compile(r"^exclusions_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_sen": re.compile(r"^sen_(?P<year>\d{4})\.csv$", re.IGNORECASE),
}
KINDS = tuple(KIND_PATTERNS)


@dataclass(frozen=True)
class SourceFile:
    path: str            # absolute path
    source_file: str     # path relative to the source folder, "/"-separated: the name used in every table
    kind: str
    la_code: Optional[str]
    collection_year: int


def kind_of(name: str) -> Optional[tuple[str, Optional[str], int]]:
    for kind, pattern in KIND_PATTERNS.items():
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            return kind, groups.get("la"), int(groups["year"])
    return None


def discover(source: str | os.PathLike) -> tuple[list[SourceFile], list[str]]:
    """All recognised input files under ``source`` (sorted by relative path) and the unrecognised ones."""
    root = Path(source).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {root} does not exist or is not a folder")
    found: list[SourceFile] = []
    unrecognised: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        for name in sorted(files):
            if name.startswith(("_", ".")):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            parsed = kind_of(name)
            if parsed is None:
                unrecognised.append(rel)
                continue
            kind, la_code, year = parsed
            found.append(SourceFile(str(path), rel, kind, la_code, year))
    return sorted(found, key=lambda f: f.source_file), sorted(unrecognised)

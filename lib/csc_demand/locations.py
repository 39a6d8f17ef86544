"""Locations of tables, sources and run files as strings: a local path, or a URI that Hadoop's FileSystem (and so
Spark) resolves: ``file:``, ``s3a:``, ``abfss:``, ``gs:``, ``hdfs:``; a Unity Catalog volume is a ``/Volumes/...`` path.

pathlib would turn ``s3a://bucket/lake`` into ``s3a:/bucket/lake``, so a URI is never put through it.
"""
from __future__ import annotations

import re
from pathlib import Path

from csc_demand.errors import ConfigurationError

# RFC 3986 scheme and ':'; two characters at least, so a Windows drive ("C:\\") is not taken for one.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def scheme(location: str) -> str | None:
    """``s3a`` for ``s3a://bucket/lake``; None for a plain path."""
    match = _SCHEME.match(str(location))
    return match.group(1).lower() if match else None


def is_local(location: str) -> bool:
    """On this machine's file system: a plain path or a ``file:`` URI."""
    return scheme(location) in (None, "file")


def local_path(location: str) -> str:
    """``file:/a/b`` or ``file:///a/b`` -> ``/a/b``; a plain path made absolute."""
    if not is_local(location):
        raise ValueError(f"{location} is not on the local file system")
    return str(Path(re.sub(r"^file:(//)?", "", str(location))).absolute())


def join(location: str, *parts: str) -> str:
    """``location/part/...``: a URI keeps its scheme; a plain path is made absolute."""
    if scheme(location) is None:
        return str(Path(location).absolute().joinpath(*parts))
    return "/".join([str(location).rstrip("/"), *parts])


def refuse_file_as_folder(option: str, folder: str) -> None:
    """A local folder to write whose path is, or runs through, a file is refused, naming the ``option`` that gave
    it, before a stage does any work (it would fail at its first write); nothing is created here."""
    path = Path(folder).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigurationError(f"{option} {folder}: {existing} is a file: give a folder that exists or can be "
                                 "created")

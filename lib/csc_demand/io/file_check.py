"""Cheap whole-file checks before Spark reads anything, run in parallel on the executors.

A file that cannot be read at all (empty, not well-formed, truncated, wrong root element or header) must be
reported by name with the reason and kept out of the Spark read, where it could fail the whole job or lose rows
silently. The check also gives each file's fingerprint (SHA-256) so unchanged files are not re-loaded, its record
count (what Spark must return for it) and, for CIN XML, the LA code and year from the file's own Header.

Files are read through Hadoop's FileSystem (``SparkContext.binaryFiles``) on the executors, so they may be on an
object store; each check streams its file's bytes in 1 MiB blocks. binaryFiles holds one whole file in an
executor's memory at a time, and Hadoop caps a file at 2 GiB: a national NPD extract is about 1 GiB.

Under Spark Connect (no RDDs) the same checks run in ``mapInArrow`` over Spark's ``binaryFile`` source, whose rows
hold a whole file each: a task holds one Arrow batch of a partition's files, so at most Spark's
``spark.sql.files.maxPartitionBytes`` (128 MiB) of small files, or one larger file, in its Python worker, and
``binaryFile`` refuses a file over 2 GiB as binaryFiles does.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from xml.parsers import expat

from pyspark import cloudpickle
from pyspark.sql import SparkSession

from csc_demand import locations
from csc_demand.errors import InputFileError
from csc_demand.io.csv_source import CSV_COLUMNS
from csc_demand.io.discover import SourceFile

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileCheck:
    file: SourceFile          # la_code / collection_year as the file itself states them (XML Header)
    ok: bool
    reason: str | None     # why the file cannot be read (None when ok)
    sha256: str | None
    size_bytes: int
    records: int              # Child elements (XML) or data lines (CSV)


def blocks_of(content: bytes) -> Iterator[memoryview]:
    """A file's bytes as 1 MiB blocks (views, no copies)."""
    view = memoryview(content)
    return (view[start:start + CHUNK] for start in range(0, len(view), CHUNK))


def _chunks(blocks: Iterable[bytes | memoryview], digest):
    for block in blocks:
        digest.update(block)
        yield block


class _Refused(Exception):
    """The file cannot be read for the reason given."""


CHILD_TAG = re.compile(rb"<Child[\s/>]")  # a Child start tag (or a Child element with no content)
CHILD_TAG_TEXT = re.compile(r"<Child[\s/>]")


def check_cin_xml(blocks: Iterable[bytes | memoryview]) -> dict:
    """Stream-parse the whole file: well-formed, root Message, a CIN Header with LEA and Year; count Child.

    Python callbacks keep the element path only until the Header ends; then expat checks the rest in C alone, and
    the Child elements are counted as Spark's XML reader finds its records: Child start tags in the bytes, less those
    inside comments, CDATA sections and processing instructions, which Spark passes over too (a callback per element
    was two thirds of the check). A UTF-16 file is refused (Spark reads UTF-8), and so is a document type
    declaration (its entities could change the records counted)."""
    digest = hashlib.sha256()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    path: list[str] = []
    header: dict[str, str] = {}
    text: list[str] = []  # character data since the last start tag: a leaf element's text at its end tag
    cdata: list[str] = []
    outside_cdata = None  # the character data handler before a CDATA section, restored after it
    passed_over = 0  # Child start tags Spark does not read (in comments, CDATA sections, processing instructions)

    def start(tag: str, _attributes: dict) -> None:
        if not path and tag != "Message":
            raise _Refused(f"root element is <{tag}>, expected <Message>")
        path.append(tag)
        text.clear()

    def end(tag: str) -> None:
        path.pop()
        if len(path) >= 2 and path[1] == "Header":
            header["/".join(path[2:] + [tag])] = "".join(text).strip()
        elif tag == "Header" and path == ["Message"]:
            parser.StartElementHandler = parser.EndElementHandler = parser.CharacterDataHandler = None

    def not_read(data: str) -> None:
        nonlocal passed_over
        passed_over += len(CHILD_TAG_TEXT.findall(data))

    def cdata_starts() -> None:
        nonlocal outside_cdata
        outside_cdata = parser.CharacterDataHandler
        cdata.clear()
        parser.CharacterDataHandler = cdata.append

    def cdata_ends() -> None:
        parser.CharacterDataHandler = outside_cdata
        section = "".join(cdata)
        not_read(section)
        if outside_cdata is not None:  # in the Header: a value may be given as CDATA
            outside_cdata(section)

    def doctype(*_declaration) -> None:
        raise _Refused("the file has a document type declaration (<!DOCTYPE ...>): its entities could add or hide "
                       "Child records that Spark's XML reader and this check would count differently, and a CIN "
                       "census return has none: remove it")

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text.append
    parser.CommentHandler = not_read
    parser.ProcessingInstructionHandler = lambda _target, data: not_read(data)
    parser.StartCdataSectionHandler, parser.EndCdataSectionHandler = cdata_starts, cdata_ends
    parser.StartDoctypeDeclHandler = doctype
    size, tags, tail = 0, 0, b""
    try:
        for block in _chunks(blocks, digest):
            if size == 0 and ((head := bytes(block[:2])) in (b"\xff\xfe", b"\xfe\xff") or b"\0" in head):
                raise _Refused("the file is UTF-16 text: Spark's XML reader reads UTF-8; save the file as UTF-8")
            size += len(block)
            parser.Parse(block, False)  # a bytes-like view: no copy
            # a tag across two blocks is found in the previous block's last bytes and this one (a whole tag is
            # longer than those bytes, so none is counted twice)
            searched = tail + block
            tags += len(CHILD_TAG.findall(searched))
            tail = bytes(searched[-6:])
        if size == 0:
            return {"reason": "empty file (0 bytes)", "size": 0}
        parser.Parse(b"", True)
    except _Refused as refused:
        return {"reason": str(refused), "size": size}
    except expat.ExpatError as err:
        return {"reason": f"not well-formed XML (truncated?): {err}", "size": size}
    except LookupError as err:  # an XML declaration naming an encoding nobody knows: raised, not an ExpatError
        return {"reason": f"the XML declaration names an encoding that cannot be read ({err}): save the file as "
                          "UTF-8", "size": size}
    collection = header.get("CollectionDetails/Collection")
    lea, year = header.get("Source/LEA", ""), header.get("CollectionDetails/Year", "")
    if collection != "CIN":
        return {"reason": f"Header/CollectionDetails/Collection is {collection!r}, expected 'CIN'", "size": size}
    if not (lea.isdigit() and len(lea) == 3):
        return {"reason": f"Header/Source/LEA is {lea!r}, expected a 3-digit LA code", "size": size}
    if not (year.isdigit() and len(year) == 4):
        return {"reason": f"Header/CollectionDetails/Year is {year!r}, expected a 4-digit year", "size": size}
    return {"reason": None, "size": size, "sha256": digest.hexdigest(), "records": tags - passed_over,
            "la_code": lea, "collection_year": int(year)}


def _lines(blocks: Iterable[bytes | memoryview], digest, size: list[int]):
    """Non-blank lines of a UTF-8 file (a byte-order mark dropped), hashing and counting every byte read."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    tail = ""
    for block in _chunks(blocks, digest):
        size[0] += len(block)
        parts = (tail + decoder.decode(block)).split("\n")
        tail = parts.pop()
        yield from (line for line in parts if line.strip())
    tail += decoder.decode(b"", final=True)
    if tail.strip():
        yield tail


def check_csv(blocks: Iterable[bytes | memoryview], expected_columns: tuple[str, ...]) -> dict:
    """Header row exactly as expected, valid UTF-8, and a last line as wide as the header (else truncated)."""
    digest = hashlib.sha256()
    first, last, lines, counted = None, "", 0, [0]
    try:
        for line in _lines(blocks, digest, counted):
            if first is None:
                first = line
            else:
                lines += 1
            last = line
    except UnicodeDecodeError as err:
        return {"reason": f"not valid UTF-8 text: {err}", "size": 0}
    if first is None:
        return {"reason": "empty file (no header row)", "size": 0}
    size = counted[0]
    header = [c.strip() for c in next(csv.reader([first.rstrip("\r")]))]
    if tuple(header) != expected_columns:
        return {"reason": f"header row is {','.join(header)!r}, expected {','.join(expected_columns)!r}",
                "size": size}
    if lines and len(next(csv.reader([last.rstrip("\r")]))) != len(expected_columns):
        return {"reason": f"last line has a different number of fields than the header ({len(expected_columns)}): "
                          "the file looks truncated", "size": size}
    return {"reason": None, "size": size, "sha256": digest.hexdigest(), "records": lines}


def _check_one(content: bytes, kind: str, columns: tuple[str, ...]) -> dict:
    return check_cin_xml(blocks_of(content)) if kind == "cin_xml" else check_csv(blocks_of(content), columns)


def _glob_escaped(path: str) -> str:
    """binaryFiles takes a comma-separated list of globs: escape glob characters; a comma cannot be escaped."""
    if "," in path:
        raise InputFileError(f"{path}: a comma in a file or folder name cannot be read through Hadoop's file listing; "
                         "rename the folder or file")
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", path)


def _unqualified(path: str) -> str:
    """binaryFiles names local files ``file:/a/b`` (Databricks a volume's ``dbfs:/Volumes/...``); SourceFile keeps
    ``/a/b`` (io.discover)."""
    return re.sub(r"^(file:(//)?|dbfs:(?=/Volumes/))", "", path)


# (column, Spark SQL type) of the per-file results mapInArrow returns under Spark Connect
_RESULT_COLUMNS = (("path", "string"), ("reason", "string"), ("size", "long"), ("sha256", "string"),
                   ("records", "long"), ("la_code", "string"), ("collection_year", "int"))


def _checked_through_dataframe(spark: SparkSession, files: list[SourceFile],
                               kinds: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, dict]:
    """check_files' per-file results from ``binaryFile`` and ``mapInArrow`` (a Spark Connect session)."""
    import pyarrow as pa

    arrow_types = {"string": pa.string(), "long": pa.int64(), "int": pa.int32()}
    schema = pa.schema([(name, arrow_types[kind]) for name, kind in _RESULT_COLUMNS])

    def check_batches(batches):
        for batch in batches:
            results = []
            for path, content in zip(batch.column("path").to_pylist(), batch.column("content"), strict=True):
                result = _check_one(content.as_buffer(), *kinds[_unqualified(path)])  # no copy of the file's bytes
                results.append({"path": _unqualified(path), **result})
            yield pa.RecordBatch.from_pylist(results, schema=schema)

    read = spark.read.format("binaryFile").load([_glob_escaped(f.path) for f in files])
    rows = (read.select("path", "content")
            .mapInArrow(check_batches, ", ".join(f"{name} {kind}" for name, kind in _RESULT_COLUMNS)).collect())
    checked = {row["path"]: {k: v for k, v in row.asDict().items() if k != "path" and v is not None} for row in rows}
    # Spark's file sources pass over empty files: one that is still there is checked here as the empty file it is
    for f in files:
        if f.path not in checked and not (locations.is_local(f.path) and not os.path.exists(f.path)):
            checked[f.path] = _check_one(b"", *kinds[f.path])
    return checked


def check_files(spark: SparkSession, files: list[SourceFile]) -> list[FileCheck]:
    """Check every file, in parallel across the executors; one FileCheck per file, in the same order."""
    if not files:
        return []
    # Ship this module's functions by value: executors need only the standard library, not csc_demand.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    kinds = {f.path: (f.kind, CSV_COLUMNS.get(f.kind, ())) for f in files}
    from csc_demand.spark import is_connect

    if is_connect(spark):
        by_path = _checked_through_dataframe(spark, files, kinds)
    else:
        slices = max(1, min(len(files), spark.sparkContext.defaultParallelism * 4))
        read = spark.sparkContext.binaryFiles(",".join(_glob_escaped(f.path) for f in files), slices)
        by_path = dict(read.map(lambda item: (_unqualified(item[0]), _check_one(item[1], *kinds[_unqualified(item[0])])))
                       .collect())
    checks = []
    for file in files:
        res = by_path.get(file.path, {"reason": "the file disappeared between listing and reading", "size": 0})
        reason = res.get("reason")
        if reason is None and file.kind == "cin_xml":
            if (file.la_code, file.collection_year) != (res["la_code"], res["collection_year"]):
                reason = (f"the Header says LEA {res['la_code']} year {res['collection_year']} but the file name says "
                          f"{file.la_code} {file.collection_year}: rename the file or fix its Header")
        stated = replace(file, la_code=res.get("la_code", file.la_code),
                         collection_year=res.get("collection_year", file.collection_year))
        checks.append(FileCheck(stated, reason is None, reason, res.get("sha256"), res.get("size", 0),
                                res.get("records", 0)))
    return checks

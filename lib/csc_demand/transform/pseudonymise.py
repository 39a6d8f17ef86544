"""Keyed pseudonyms for child identifiers: the only place identifiers are hashed.

``child_key`` = HMAC-SHA-256 under the secret key of ``LA code|LAchildID`` (LAchildID is unique only within an
LA). The same child gets the same key in CIN XML, SSDA903 and NPD extracts, in every year. ``pupil_key`` =
HMAC-SHA-256 of ``tag|pupil id`` with tag ``PMR`` (PupilMatchingRefAnonymous) or ``UPN``. The key comes from
``cfg.resolve_pseudonym_key()`` (environment or config), never from code. A missing identifier gives null.

HMAC is built from Spark's own ``sha2`` on bytes (RFC 2104: H(K^opad || H(K^ipad || m))), so it runs as generated
JVM code like any other column; a Python UDF would move every identifier through a Python worker.
"""
from __future__ import annotations

import hashlib

from pyspark.sql import Column
from pyspark.sql import functions as F

BLOCK = 64  # SHA-256's block size in bytes


def _padded_keys(key: str) -> tuple[bytes, bytes]:
    """The HMAC inner and outer pads for ``key`` (a key longer than a block is hashed first, as RFC 2104 says)."""
    raw = key.encode("utf-8")
    if len(raw) > BLOCK:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in raw), bytes(b ^ 0x5C for b in raw)


def hmac_sha256(message: Column, key: str) -> Column:
    """Hex HMAC-SHA-256 of a string column's UTF-8 bytes under ``key`` (null for a null message)."""
    inner_pad, outer_pad = _padded_keys(key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), message.cast("binary")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def _present(col: Column) -> Column:
    return F.nullif(F.trim(col), F.lit(""))


def pseudonymise(col_la: Column, col_id: Column, key: str) -> Column:
    """child_key from an LA code and the LA's own child id (LAchildID, 903 CHILD, NPD LAchildID_Anon)."""
    child_id = _present(col_id)
    return F.when(child_id.isNotNull() & _present(col_la).isNotNull(),
                  hmac_sha256(F.concat_ws("|", F.trim(col_la), child_id), key))


def pupil_pseudonym(tag: str, col_id: Column, key: str) -> Column:
    """pupil_key from a pupil identifier; ``tag`` is "PMR" or "UPN" so the two never collide."""
    pupil_id = _present(col_id)
    return F.when(pupil_id.isNotNull(), hmac_sha256(F.concat_ws("|", F.lit(tag), pupil_id), key))

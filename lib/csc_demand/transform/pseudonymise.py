"""Keyed pseudonyms for child identifiers: the only place identifiers are hashed.

``child_key`` = SHA-256 of (secret key | LA code | LAchildID): LAchildID is unique only within an LA. The same
child gets the same key in CIN XML, SSDA903 and NPD extracts, in every year. ``pupil_key`` = SHA-256 of
(secret key | tag | pupil id) with tag ``PMR`` (PupilMatchingRefAnonymous) or ``UPN``. The key comes from
``cfg.resolve_pseudonym_key()`` (environment or config), never from code. A missing identifier gives null.
"""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def _present(col: Column) -> Column:
    return F.nullif(F.trim(col), F.lit(""))


def pseudonymise(col_la: Column, col_id: Column, key: str) -> Column:
    """child_key from an LA code and the LA's own child id (LAchildID, 903 CHILD, NPD LAchildID_Anon)."""
    child_id = _present(col_id)
    return F.when(child_id.isNotNull() & _present(col_la).isNotNull(),
                  F.sha2(F.concat_ws("|", F.lit(key), F.trim(col_la), child_id), 256))


def pupil_pseudonym(tag: str, col_id: Column, key: str) -> Column:
    """pupil_key from a pupil identifier; ``tag`` is "PMR" or "UPN" so the two never collide."""
    pupil_id = _present(col_id)
    return F.when(pupil_id.isNotNull(), F.sha2(F.concat_ws("|", F.lit(key), F.lit(tag), pupil_id), 256))

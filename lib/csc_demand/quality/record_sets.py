"""Apply a table's rules to staged records, and the rules that compare records with each other.

After ``apply_rules`` every staged record has ``rule_id`` (null = accepted) and ``with_parent`` (true when it is
rejected only because the record it belongs to was rejected: it is counted as quarantined for reconciliation but
its raw data sits in the parent's quarantine row).
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

from csc_demand import codes
from csc_demand.quality.checks import (
    ISO_DATE,
    first_failing_rule,
    parsed,
    to_bool,
    to_date,
    value,
    with_parsed_dates,
)
from csc_demand.quality.rules import Checks, census_end, census_start

FAR_FUTURE = "9999-12-31"
PLACEMENT_FIELDS = ("PLACE", "PLACE_PROVIDER", "URN", "PL_POST")  # a change of placement changes one


def apply_rules(df: DataFrame, checks: Checks) -> DataFrame:
    """Add rule_id (parent's rule first, then CSC-RECORD for unparseable records, then the table's rules), and the
    parsed dates the rules read (checks.with_parsed_dates), for the typed columns and the set rules too."""
    parent = F.col("parent_rule") if "parent_rule" in df.columns else F.lit(None).cast("string")
    record_checks = [("CSC-RECORD", F.col("corrupt"))] if "corrupt" in df.columns else []
    return (with_parsed_dates(df).withColumn("with_parent", parent.isNotNull())
              .withColumn("rule_id", first_failing_rule(record_checks + checks, already=parent)))


def flag_duplicates(df: DataFrame, keys: list[str], order: Sequence[Column | str]) -> DataFrame:
    """CSC-DUP on every accepted record after the first with the same natural key in the same file."""
    accepted = F.col("rule_id").isNull()
    window = Window.partitionBy(*keys, "source_file", accepted).orderBy(*order)  # person first: see by_person
    return df.withColumn("rule_id", F.when(accepted & (F.row_number().over(window) > 1), F.lit("CSC-DUP"))
                                     .otherwise(F.col("rule_id")))


def apply_set_rules(df: DataFrame, checks: Checks) -> DataFrame:
    """rule_id on an accepted record from the first of ``checks`` that holds: rules that compare a child's records
    (of one file) with each other, written with the window columns below."""
    return df.withColumn("rule_id", first_failing_rule(checks, already=F.col("rule_id")))


def by_start(order: Sequence[Column | str], *within: str) -> WindowSpec:
    """A child's accepted (or its rejected) records of one file (and of one ``within``, e.g. one referral), in order
    of start_date then ``order``."""
    return (Window.partitionBy("child_key", *within, "source_file", F.col("rule_id").isNull())
                  .orderBy(F.col("start_date"), *order))


def latest_end_before(end: Column, window: WindowSpec) -> Column:
    """The latest ``end`` of the records before this one in ``window`` (give an open record a far end date)."""
    return F.max(end).over(window.rowsBetween(Window.unboundedPreceding, -1))


def open_later(is_open: Column, window: WindowSpec) -> Column:
    """A record after this one in ``window`` is open too."""
    return F.coalesce(F.max(is_open.cast("int")).over(window.rowsBetween(1, Window.unboundedFollowing)) == 1,
                      F.lit(False))


def far_end(end: Column) -> Column:
    return F.coalesce(end, F.lit(FAR_FUTURE).cast("date"))


def referral_set_checks(rule: str = "rule_id") -> Checks:
    """Over staged referrals by child and file, ``rule`` naming the column of their own rules (NPD: over lines,
    each carrying its referral's fields, so a referral's lines agree with it). A referral is open with no closure
    date on one that led to further action (ReferralNFA false or 0). 8815: an open referral while a later one is
    open too (the earlier is rejected); 8816: an open referral that is not the child's latest; 8820: a referral
    starting before an earlier one ended (an open one never ends)."""
    referral, closure = parsed("referral_date_raw"), parsed("closure_date_raw")
    day = F.datediff(referral, F.lit("2000-01-01").cast("date"))  # range frames need a number
    is_open = closure.isNull() & (to_bool("referral_nfa_raw") == F.lit(False))
    by_day = Window.partitionBy("child_key", "source_file", F.col(rule).isNull()).orderBy(day)
    earlier = by_day.rangeBetween(Window.unboundedPreceding, -1)
    # the whole partition in the same order as `earlier`: one sort for both (unordered, Spark sorted twice)
    child = by_day.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return [("8815", is_open & F.coalesce(F.max(F.when(is_open, day)).over(child) > day, F.lit(False))),
            ("8816", is_open & (F.max(day).over(child) > day)),
            ("8820", referral < F.max(F.when(is_open, far_end(closure)).otherwise(closure)).over(earlier))]


def cp_plan_set_checks(order: Sequence[Column | str]) -> Checks:
    """Over validated CP plans. 8940: the later of two overlapping plans (an open plan overlaps every later one,
    so this also takes the later of two open plans, DfE 8935)."""
    return [("8940", F.col("start_date") < latest_end_before(far_end(F.col("end_date")), by_start(order)))]


def cin_plan_set_checks(order: Sequence[Column | str]) -> Checks:
    """Over validated CIN plans: 4014 the later of two plans that overlap or touch; 4004 an open plan followed by
    another open plan of the same referral."""
    end = parsed("end_raw")
    return [("4014", F.col("start_date") <= latest_end_before(far_end(end), by_start(order))),
            ("4004", end.isNull() & open_later(end.isNull(), by_start(order, "referral_date")))]


CP_PLAN_FLAGS = ("_cp_starts_before", "_cp_starts_during", "_cp_open_too", "_cp_review_during")


def with_cp_plans_beside(cin_plans: DataFrame, cp_plans: DataFrame) -> DataFrame:
    """Checked CIN plans -> plus ``_cp_*`` flags from the child's accepted CP plans of the same file (checked CP
    plans), for the rules on a CIN plan and a CP plan at once (cin_plan_cp_checks)."""
    cp = cp_plans.filter(F.col("rule_id").isNull()).select(
        "child_key", "source_file", F.col("referral_date").alias("cp_referral"), F.col("start_date").alias("cp_start"),
        F.col("end_date").alias("cp_end"), F.coalesce("review_dates_raw", F.array().cast("array<string>"))
                                            .alias("cp_reviews"))
    start, end, year_end = F.col("start_date"), parsed("end_raw"), census_end()
    pairs = cin_plans.select("child_key", "source_file", "locator", "referral_date", "start_date", parsed("end_raw"),
                             "collection_year").join(cp, ["child_key", "source_file"])

    def during(day: Column, since: Column, until: Column) -> Column:  # an open plan runs to the census year's end
        return (day >= since) & ((day < until) | (until.isNull() & (day <= year_end)))

    # one row per CIN plan (a staged locator names a record within its child and file)
    flags = pairs.groupBy("child_key", "source_file", "locator").agg(
        F.max(during(start, F.col("cp_start"), F.col("cp_end"))).alias("_cp_starts_before"),
        F.max(during(F.col("cp_start"), start, end)).alias("_cp_starts_during"),
        F.max((F.col("referral_date") == F.col("cp_referral")) & end.isNull() & F.col("cp_end").isNull())
         .alias("_cp_open_too"),
        F.max(F.col("cp_end").isNotNull() & F.exists("cp_reviews", lambda r: (
            to_date(r, ISO_DATE) >= start) & (to_date(r, ISO_DATE) < end) & (to_date(r, ISO_DATE) != F.col("cp_end"))))
         .alias("_cp_review_during"))
    return cin_plans.join(flags, ["child_key", "source_file", "locator"], "left")


def cin_plan_cp_checks() -> Checks:
    """Over with_cp_plans_beside; the CIN plan is rejected (the CP plan is the analysis' measure): 4016 it starts
    during a CP plan; 4017 a CP plan starts during it; 4001 both open in one referral; 4003 a CP plan's review
    falls during it."""
    flag = lambda name: F.coalesce(F.col(name), F.lit(False))  # noqa: E731
    return [("4016", flag("_cp_starts_before")), ("4017", flag("_cp_starts_during")),
            ("4001", flag("_cp_open_too")), ("4003", flag("_cp_review_during"))]


def assessment_set_checks(order: Sequence[Column | str]) -> Checks:
    """8896: an assessment not authorised, followed by another one of the same referral."""
    is_open = value("authorised_raw").isNull()
    return [("8896", is_open & open_later(is_open, by_start(order, "referral_date")))]


def section47_set_checks(order: Sequence[Column | str]) -> Checks:
    """An enquiry is open until its ICPC, or for good when it has none and one is not marked not required. 8890:
    an enquiry starting on or before the end of an earlier one of its referral; 8839: an open enquiry followed by
    another open one."""
    icpc = parsed("icpc_raw")
    is_open = icpc.isNull() & ~F.coalesce(to_bool("icpc_not_required_raw"), F.lit(False))
    window, end = by_start(order, "referral_date"), F.when(is_open, far_end(icpc)).otherwise(icpc)
    return [("8890", F.col("start_date") <= latest_end_before(end, window)),
            ("8839", is_open & open_later(is_open, window))]


def care_episode_set_checks(order: Sequence[Column | str]) -> Checks:
    """SSDA903 rules over a child's episodes of one return in order of start (as the DfE reads them: 501 leaves an
    open previous episode to 142; 433 counts a missing previous end as a mismatch). 434-436 compare an episode's
    legal status and placement fields with the previous episode's as the DfE does: a blank equals nothing, except
    in 436 and among 434's placement fields, where two blanks are equal."""
    window = by_start(order)
    end, rec, rne = parsed("DEC"), F.upper(value("REC")), F.upper(value("RNE"))
    previous_end, previous_rec = F.lag(end).over(window), F.lag(rec).over(window)
    has_previous = F.row_number().over(window) > 1
    next_start = F.lead(F.col("start_date")).over(window)

    def same(names: Sequence[str], blanks_equal: bool) -> Column:
        pairs = [(value(name), F.lag(value(name)).over(window)) for name in names]
        equal = [now.eqNullSafe(before) if blanks_equal else F.coalesce(now == before, F.lit(False))
                 for now, before in pairs]
        return reduce(Column.__and__, equal)

    return [
        ("501", F.col("start_date") < previous_end),
        ("142", (end.isNull() | rec.isNull()) & next_start.isNotNull()),
        # X1 (a new episode begins) exactly when the next episode starts the day this one ends
        ("388", end.isNotNull() & ((rec == codes.REC_CONTINUES) != F.coalesce(next_start == end, F.lit(False)))),
        ("431", (rne == "S") & (F.col("start_date") <= previous_end)),
        ("432", previous_rec.isin(*codes.REC_LEFT_CARE) & F.coalesce(rne != "S", F.lit(True))),
        ("433", rne.isin("P", "L", "T", "U", "B") & has_previous
            & F.coalesce(previous_end != F.col("start_date"), F.lit(True))),
        ("434", (rne == "L") & has_previous & (same(["LS"], False) | ~same(PLACEMENT_FIELDS, True))),
        ("435", rne.isin("P", "T") & has_previous & (~same(["LS"], False) | same(PLACEMENT_FIELDS, False))),
        ("436", rne.isin("U", "B") & has_previous & (same(["LS"], True) | same(PLACEMENT_FIELDS, True))),
        ("437", rec.isin(*codes.REC_DIED_OR_18) & next_start.isNotNull()),
        ("357", ~has_previous & (F.col("start_date") >= census_start()) & F.coalesce(rne != "S", F.lit(True))),
    ]


def by_person(df: DataFrame, person: str) -> DataFrame:
    """Hash-partition records by the person they belong to (``child_key`` or ``pupil_key``). Every later window
    and grouping here keys on that person plus more columns, so Spark runs them all inside these partitions
    (sorting, no further shuffle of the wide records): one shuffle per record set instead of one per step.
    Those windows and groupings list the person's key first: Spark sorts on a prefix of the first column, and the
    source file (one value for millions of rows) first made every comparison walk all the columns."""
    return df.repartition(person)


def duplicates_and_latest(df: DataFrame, keys: list[str], order: Sequence[Column | str],
                          ranking: Sequence[Column] = ()) -> DataFrame:
    """flag_duplicates and latest_copy's choice in one sort, for records no later rule can reject: CSC-DUP as
    flag_duplicates sets it (``order`` within a file), ``first_collection_year`` and ``_latest`` marking the copy
    latest_copy would keep (``ranking`` as its ``order``; take it with ``latest_marked``). The accepted copies come
    first, ranked as latest_copy ranks them, so a file's copies of a key are adjacent: a copy is a duplicate when the
    copy before it is accepted and from the same file, and the first copy is the latest."""
    accepted = F.col("rule_id").isNull()
    window = Window.partitionBy(*keys).orderBy(accepted.desc(), *latest_first(ranking), *order)
    every_copy = window.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    duplicate = accepted & F.coalesce(F.lag(accepted).over(window)
                                      & (F.lag("source_file").over(window) == F.col("source_file")), F.lit(False))
    return df.select(
        *[c for c in df.columns if c != "rule_id"],
        F.when(duplicate, F.lit("CSC-DUP")).otherwise(F.col("rule_id")).alias("rule_id"),
        F.min(F.when(accepted, F.col("collection_year"))).over(every_copy).alias("first_collection_year"),
        (accepted & (F.row_number().over(window) == 1)).alias("_latest"))


def latest_first(order: Sequence[Column] = ()) -> list[Column]:
    """The order of a key's copies across annual files, latest first: collection year, then ``order``, then file."""
    return [F.col("collection_year").desc(), *order, F.col("source_file").desc()]


def latest_marked(validated: DataFrame) -> DataFrame:
    """The latest copy of each key, as duplicates_and_latest marked it."""
    return validated.filter(F.col("_latest")).drop("_latest")


def latest_copy(df: DataFrame, keys: list[str], order: list[Column] | None = None) -> DataFrame:
    """One row per natural key (the ``keys`` columns) across annual files: the latest collection year wins (then
    ``order``), as DOMAIN.md says. Keyed on columns, not on a hash of them, so the partitioning by person holds."""
    window = Window.partitionBy(*keys).orderBy(*latest_first(order or []))
    # the same partitioning and order as the ranking, whole partition as frame: Spark computes both in one pass
    # over one sort (an unordered window of its own sorted every record set a second time)
    every_copy = window.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    first_year = F.min("collection_year").over(every_copy)
    return (df.withColumn("first_collection_year", first_year)
              .withColumn("_copy", F.row_number().over(window))
              .filter(F.col("_copy") == 1)
              .drop("_copy"))

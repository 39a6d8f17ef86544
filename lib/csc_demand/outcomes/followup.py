"""Follow-up and censoring shared by every time-to-event measure, and the child attributes they need.

Follow-up of an event-free interval (closure -> next referral, plan end -> next plan, return home -> next period
of care) stops at the censor date: the end of the data or the child's 18th birthday, whichever is first.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.errors import ConfigurationError, MissingTableError

ADULT_AGE_MONTHS = 18 * 12
CATEGORY_COLUMNS = ("category_id", "category_name")
FOLLOWUP_COLUMNS = ("censor_date", "at_risk", "event", "censored", "followup_days", "potential_followup_days")


def first_collection_day(rows: DataFrame, table: str) -> date:
    """1 April of the first collection year in ``rows`` (a silver table with ``collection_year``): the first day the
    table's history is observed."""
    first = rows.agg(F.min("collection_year")).collect()[0][0]
    if first is None:
        raise MissingTableError(f"{table} is empty: no collection year to start from; run ingest first")
    return date(int(first) - 1, 4, 1)


def referral_years(referrals: DataFrame) -> tuple[date, date]:
    """The days silver.referrals covers: 1 April of its first collection year, and the last census reference date
    (31 March of its latest collection year), the default end of follow-up."""
    first, latest = referrals.agg(F.min("collection_year"), F.max("collection_year")).collect()[0]
    if latest is None:
        raise MissingTableError("silver.referrals is empty: no collection year to follow up; run ingest first")
    return date(int(first) - 1, 4, 1), date(int(latest), 3, 31)


def check_end_date(end_date: date, covered: tuple[date, date]) -> None:
    """An end of follow-up within the days the returns cover: after the last, children would count as followed up,
    without events, over days no return covers; before the first, nothing is followed up."""
    first, last = covered
    if not first < end_date <= last:
        raise ConfigurationError(
            f"end of follow-up {end_date} (--end-date or outcomes.end_date) is {'after' if end_date > last else 'before'}"
            f" the days silver.referrals covers, {first} to {last} (its collection years): give a date within them, or "
            f"none for the last")


def collection_year(day: Column) -> Column:
    """Collection year holding a date: 1 April Y-1 to 31 March Y is year Y."""
    return F.year(day) + F.when(F.month(day) >= 4, 1).otherwise(0)


def age_band(day: Column, birth_date: Column) -> Column:
    """DfE children-in-need age bands at a date (unborn when the date precedes birth)."""
    age = F.floor(F.months_between(day, birth_date) / 12)
    return (F.when(birth_date.isNull() | day.isNull(), F.lit("unknown"))
            .when(day < birth_date, F.lit("unborn"))
            .when(age < 1, F.lit("under 1"))
            .when(age < 5, F.lit("1-4"))
            .when(age < 10, F.lit("5-9"))
            .when(age < 16, F.lit("10-15"))
            .otherwise(F.lit("16+")))


def person_column(cross_la: bool) -> str:
    """The column whose value identifies one person's sequence of events (what the windows partition by).

    By default a person is a child within one LA: ``child_key`` itself, so no copy of the key travels through the
    shuffles and sorts. With ``cross_la`` it is ``person_key`` (``with_person_key``).
    """
    return "person_key" if cross_la else "child_key"


def with_person_key(df: DataFrame, children: DataFrame, cross_la: bool) -> DataFrame:
    """With ``cross_la``, add ``person_key``: the pupil key where known (linking a child's records across LAs),
    else the child key. Without it the rows are returned as they are (the person is ``child_key``)."""
    if not cross_la:
        return df
    pupils = children.select("child_key", F.col("pupil_key").alias("_pupil_key"))
    return (df.join(pupils, on="child_key", how="left")
            .withColumn("person_key", F.coalesce("_pupil_key", "child_key")).drop("_pupil_key"))


def with_child_attributes(df: DataFrame, children: DataFrame) -> DataFrame:
    """Add ``birth_date``, ``sex`` and ``ethnic_group`` from silver.children.

    Called after the sequence windows. Within an LA the windows are partitioned by ``child_key``, and joining on
    it lets Spark reuse that partitioning instead of shuffling the event rows again.
    """
    attributes = children.select("child_key", "birth_date", "sex", "ethnic_group")
    return df.join(attributes, on="child_key", how="left")


def with_followup(df: DataFrame, start: str, next_event: str, end_date: date) -> DataFrame:
    """Add the survival columns of the interval from ``start`` to ``next_event`` (null = none seen).

    - ``censor_date``: the earlier of ``end_date`` and the 18th birthday (``birth_date``; unknown = end date)
    - ``at_risk``: the interval starts on or before the censor date (false for open episodes, start null)
    - ``event``: the next event falls on or before the censor date
    - ``censored``: at risk without an observed event
    - ``followup_days``: days to the event, else to the censor date (null when not at risk)
    - ``potential_followup_days``: days from start to the censor date (for complete-follow-up shares)
    """
    censor = F.least(F.lit(end_date), F.add_months(F.col("birth_date"), ADULT_AGE_MONTHS))
    at_risk = F.col(start).isNotNull() & (F.col(start) <= F.col("censor_date"))
    event = at_risk & F.col(next_event).isNotNull() & (F.col(next_event) <= F.col("censor_date"))
    return (df.withColumn("censor_date", censor)
            .withColumn("at_risk", F.coalesce(at_risk, F.lit(False)))
            .withColumn("event", F.when(F.col("at_risk"), F.coalesce(event, F.lit(False))))
            .withColumn("censored", ~F.col("event"))
            .withColumn("followup_days", F.when(F.col("at_risk"), F.datediff(
                F.when(F.col("event"), F.col(next_event)).otherwise(F.col("censor_date")), F.col(start))))
            .withColumn("potential_followup_days",
                        F.when(F.col("at_risk"), F.datediff(F.col("censor_date"), F.col(start)))))


def with_category(df: DataFrame, categories: DataFrame | None, key: str) -> DataFrame:
    """Left-join ``category_id``/``category_name`` on ``key``; null columns when there is no category table."""
    if categories is None:
        return (df.withColumn("category_id", F.lit(None).cast("int"))
                .withColumn("category_name", F.lit(None).cast("string")))
    return df.join(categories.select(key, *CATEGORY_COLUMNS), on=key, how="left")


def referral_categories(assessments: DataFrame, assessment_category: DataFrame | None) -> DataFrame | None:
    """One row per referral: the category of its first authorised assessment (None without categories)."""
    if assessment_category is None:
        return None
    first = F.struct("authorised_date", "start_date", "assessment_key")
    return (assessments.where(F.col("authorised_date").isNotNull())
            .join(assessment_category.select("assessment_key", *CATEGORY_COLUMNS), on="assessment_key", how="inner")
            .groupBy("referral_key")
            .agg(F.min_by(F.struct(*CATEGORY_COLUMNS), first).alias("c"))
            .select("referral_key", "c.category_id", "c.category_name"))

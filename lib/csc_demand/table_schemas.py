"""Every silver and gold table's schema, declared once: columns in their written order with type and comment, the
natural key, NOT NULL columns and CHECK constraints, and a one-line description.

Derived from it: the Delta constraints and Unity Catalog table and column comments (``io.delta.ensure_table`` and
``write_table``), the read-time contract check with names and types (``check_schema``; the columns later stages
rely on are each table's ``contract``), ``outcomes.contract.INPUT_SCHEMAS`` and the gold columns of
``model.assign``. docs/tables.md describes the same tables; ``tests/test_table_schemas.py`` fails when the two
disagree, and the written tables are compared with it in ``tests/test_pipeline.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from csc_demand import codes
from csc_demand.errors import SchemaContractError

STRING, INT, LONG, DOUBLE = StringType(), IntegerType(), LongType(), DoubleType()
BOOLEAN, DATE, TIMESTAMP = BooleanType(), DateType(), TimestampType()


def array_of(element: DataType, contains_null: bool = True) -> ArrayType:
    return ArrayType(element, contains_null)


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    comment: str
    not_null: bool = False

    @property
    def field(self) -> StructField:
        """The column as written: nullable unless NOT NULL, its comment in the field metadata (as Spark keeps it)."""
        return StructField(self.name, self.type, not self.not_null, {"comment": self.comment})


@dataclass(frozen=True)
class TableSchema:
    layer: str
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: dict[str, str] = field(default_factory=dict)  # Delta CHECK constraints: name -> SQL expression
    contract: tuple[str, ...] = ()  # the columns later stages read, checked (names and types) when they read it

    @property
    def struct(self) -> StructType:
        return StructType([c.field for c in self.columns])

    @property
    def not_null(self) -> list[str]:
        return [c.name for c in self.columns if c.not_null]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, names: tuple[str, ...] | list[str] | None = None) -> str:
        """``name type, ...`` of the given columns (default all), e.g. for ``spark.createDataFrame(rows, ddl)``."""
        by_name = {c.name: c for c in self.columns}
        return ", ".join(f"{n} {by_name[n].type.simpleString()}" for n in (names or self.names))


_FACTORS = ", ".join(f"'{c}'" for c in codes.ALL_FACTOR_CODES)
_RNE = ", ".join(f"'{c}'" for c in codes.RNE_CODES)

SILVER: tuple[TableSchema, ...] = (
    TableSchema("silver", "assessment_factors", "one row per assessment and code",
                key=("assessment_key", "factor_code"), columns=(
        Column("assessment_key", STRING, "key of the assessment (silver.assessments)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("factor_code", STRING, "CIN assessment factor code as received", not_null=True),
        Column("indicator", STRING, "harmonised name; null for 21"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
    )),
    TableSchema("silver", "assessments", "one row per assessment",
                key=("assessment_key",),
                checks={"rule_1103_not_before_referral": "start_date >= referral_date",
                        "rule_8869_21_stands_alone": "NOT (array_contains(factor_codes, '21') AND size(factor_codes) > 1)",
                        "rule_8898_no_duplicate_factor": "size(array_distinct(factor_codes)) = size(factor_codes)",
                        "known_factor_codes": f"forall(factor_codes, code -> code IN ({_FACTORS}))",
                        "indicator_count": f"size(indicators) = {len(codes.INDICATOR_NAMES)}"},
                contract=("assessment_key", "referral_key", "child_key", "la_code", "start_date", "authorised_date",
                          "factor_codes", "indicators", "n_factors", "has_factors", "collection_year"),
                columns=(
        Column("assessment_key", STRING, "key of the assessment (silver.assessments)", not_null=True),
        Column("referral_key", STRING, "key of the referral (silver.referrals)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code", not_null=True),
        Column("referral_date", DATE, "date of the referral"),
        Column("start_date", DATE, "start date of the record", not_null=True),
        Column("review_date", DATE, "assessment review date"),
        Column("authorised_date", DATE, "date the assessment was authorised"),
        Column("factor_codes", array_of(STRING, contains_null=False), "as received, trimmed, upper-case, order kept", not_null=True),
        Column("indicators", array_of(INT, contains_null=False), "0/1 in csc_demand.codes.INDICATOR_NAMES order: 18*/19*/8B-8F/13A+24A "
                                            "harmonised, 21 sets none", not_null=True),
        Column("n_factors", INT, "distinct codes other than 21"),
        Column("has_factors", BOOLEAN, "any indicator"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("first_collection_year", INT, "collection year of the earliest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
    )),
    TableSchema("silver", "care_episodes", "one row per 903 episode",
                key=("child_key", "start_date"),
                checks={"known_rne": f"rne IS NULL OR rne IN ({_RNE})"},
                columns=(
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code", not_null=True),
        Column("start_date", DATE, "DECOM: start of the episode", not_null=True),
        Column("rne", STRING, "903 reason for new episode (RNE) code"),
        Column("legal_status", STRING, "903 legal status code"),
        Column("category_of_need", STRING, "903 category of need (CIN) code"),
        Column("placement", STRING, "903 placement type code"),
        Column("placement_provider", STRING, "903 placement provider code"),
        Column("end_date", DATE, "DEC: end of the episode (null = open)"),
        Column("rec", STRING, "903 reason episode ceased (REC) code"),
        Column("reason_place_change", STRING, "903 reason for placement change code"),
        Column("placement_urn", STRING, "Ofsted URN of the placement"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("first_collection_year", INT, "collection year of the earliest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
    )),
    TableSchema("silver", "care_periods", "one row per period of care",
                key=("child_key", "period_start"),
                contract=("child_key", "la_code", "period_start", "period_end", "end_rec", "period_number",
                          "n_episodes", "n_placements"),
                columns=(
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code"),
        Column("period_start", DATE, "start of the period of care", not_null=True),
        Column("period_end", DATE, "null = still in care, or last episode ended X1 with no successor yet"),
        Column("end_rec", STRING, "reason episode ceased (REC) of the period's last episode"),
        Column("period_number", INT, "1 = the child's first period of care", not_null=True),
        Column("n_episodes", INT, "903 episodes in the period"),
        Column("n_placements", INT, "episodes whose RNE is not L"),
        Column("starts_with_rne_s", BOOLEAN, "false when a period had to start at a broken X1 chain"),
    )),
    TableSchema("silver", "children", "one row per child",
                key=("child_key",),
                contract=("child_key", "la_code", "pupil_key", "birth_date", "sex", "ethnicity", "ethnic_group",
                          "disabled"),
                columns=(
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code", not_null=True),
        Column("pupil_key", STRING, "the latest NPD one, from PMR, which school outcomes carry; else the latest "
                                    "UPN-based one; null when none"),
        Column("birth_date", DATE, "NPD: first day of birth month"),
        Column("expected_birth_date", DATE, "expected date of birth (unborn children)"),
        Column("death_date", DATE, "date of death"),
        Column("sex", STRING, "M/F/U (GenderCurrent 1/2/0/9, Sex, 903 SEX; U when missing)", not_null=True),
        Column("ethnicity", STRING, "ethnicity code as received"),
        Column("ethnic_group", STRING, "White/Mixed/Asian/Black/Chinese/Other/Unknown", not_null=True),
        Column("disabled", BOOLEAN, "any code other than NONE; null when no disability recorded, e.g. 903-only children"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("first_collection_year", INT, "collection year of the earliest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
    )),
    TableSchema("silver", "cin_plans", "one row per CIN plan",
                key=("cin_plan_key",),
                contract=("referral_key", "child_key", "la_code", "start_date", "end_date"),
                columns=(
        Column("cin_plan_key", STRING, "key of the CIN plan: sha2(referral_key|start_date)", not_null=True),
        Column("referral_key", STRING, "key of the referral (silver.referrals)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code"),
        Column("start_date", DATE, "start date of the record", not_null=True),
        Column("end_date", DATE, "end date (null = open)"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("source_file", STRING, "CIN XML only; collected from 2021-22"),
    )),
    TableSchema("silver", "cp_plans", "one row per plan",
                key=("cp_plan_key",),
                checks={"rule_1105_not_before_referral": "start_date >= referral_date"},
                contract=("cp_plan_key", "referral_key", "child_key", "la_code", "start_date", "end_date",
                          "initial_category", "latest_category", "number_of_previous_cpp"),
                columns=(
        Column("cp_plan_key", STRING, "key of the CP plan (silver.cp_plans)", not_null=True),
        Column("referral_key", STRING, "key of the referral (silver.referrals)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code", not_null=True),
        Column("referral_date", DATE, "date of the referral"),
        Column("start_date", DATE, "start date of the record", not_null=True),
        Column("end_date", DATE, "end date (null = open)"),
        Column("initial_category", STRING, "initial category of abuse (NEG/PHY/SAB/EMO/MUL)"),
        Column("latest_category", STRING, "latest category of abuse"),
        Column("number_of_previous_cpp", INT, "NumberOfPreviousCPP as received"),
        Column("review_dates", array_of(DATE), "CP plan review dates"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("first_collection_year", INT, "collection year of the earliest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
    )),
    TableSchema("silver", "quarantine", "one row per distinct rejected record",
                key=("quarantine_key",), columns=(
        Column("quarantine_key", STRING, "sha2(table_name|source_file|locator|rule_id|raw_record)", not_null=True),
        Column("load_id", STRING, "run that first rejected it"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("child_key", STRING, "null when the id is missing"),
        Column("locator", STRING, "where the record was: XML element path with the child's key, or "
                                  "<source_file>:<line> (line 1 = header)"),
        Column("rule_id", STRING, "DfE or CSC rule id", not_null=True),
        Column("message", STRING, "the rule's text"),
        Column("raw_record", STRING, "JSON of the record as received, identifiers replaced by pseudonyms; a "
                                     "record that did not parse keeps only its length and a keyed hash"),
        Column("table_name", STRING, "silver table the record was for", not_null=True),
        Column("occurrences", INT, "times the record was received"),
        Column("loaded_at", TIMESTAMP, "time of the run that wrote the row"),
    )),
    TableSchema("silver", "referrals", "one row per CIN episode",
                key=("referral_key",),
                checks={"referral_in_collection": "referral_date <= make_date(collection_year, 3, 31)",
                        "rule_8630_closure_not_before_referral": "closure_date IS NULL OR closure_date >= referral_date"},
                contract=("referral_key", "child_key", "la_code", "referral_date", "closure_date", "closure_reason",
                          "referral_nfa", "referral_source", "primary_need", "collection_year"),
                columns=(
        Column("referral_key", STRING, "key of the referral (silver.referrals)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code", not_null=True),
        Column("referral_date", DATE, "date of the referral", not_null=True),
        Column("closure_date", DATE, "date the referral closed (null = open)"),
        Column("closure_reason", STRING, "reason for closure code (RC1-RC9)"),
        Column("referral_nfa", BOOLEAN, "referral led to no further action"),
        Column("referral_source", STRING, "referral source code"),
        Column("primary_need", STRING, "primary need code (N0-N9)"),
        Column("initial_cpc_date", DATE, "XML DateOfInitialCPC"),
        Column("collection_year", INT, "collection year of the latest return holding it", not_null=True),
        Column("first_collection_year", INT, "collection year of the earliest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
    )),
    TableSchema("silver", "school_exclusions", "one row per pupil and academic year",
                key=("pupil_key", "academic_year"), columns=(
        Column("pupil_key", STRING, "keyed pseudonym of the pupil (HMAC-SHA-256 of PMR or UPN)", not_null=True),
        Column("academic_year", INT, "academic year end (2015/16 -> 2016)", not_null=True),
        Column("suspensions", INT, "suspensions in the year"),
        Column("permanently_excluded", BOOLEAN, "permanently excluded"),
    )),
    TableSchema("silver", "school_ks4", "one row per pupil",
                key=("pupil_key",), columns=(
        Column("pupil_key", STRING, "keyed pseudonym of the pupil (HMAC-SHA-256 of PMR or UPN)", not_null=True),
        Column("ks4_year", INT, "academic year end, 2015/16 -> 2016", not_null=True),
        Column("att8", DOUBLE, "Attainment 8 score"),
        Column("p8", DOUBLE, "Progress 8 score"),
    )),
    TableSchema("silver", "school_outcomes", "one row per pupil at KS4",
                key=("pupil_key",),
                contract=("pupil_key", "ks4_year", "att8", "p8", "suspended", "permanently_excluded", "sen_provision"),
                columns=(
        Column("pupil_key", STRING, "keyed pseudonym of the pupil (HMAC-SHA-256 of PMR or UPN)", not_null=True),
        Column("ks4_year", INT, "KS4 academic year end", not_null=True),
        Column("att8", DOUBLE, "Attainment 8 score"),
        Column("p8", DOUBLE, "Progress 8 score"),
        Column("suspended", BOOLEAN, "any suspension up to the KS4 year"),
        Column("permanently_excluded", BOOLEAN, "permanently excluded"),
        Column("n_suspensions", INT, "suspensions up to the KS4 year"),
        Column("sen_provision", STRING, "latest census up to the KS4 year; null when none"),
    )),
    TableSchema("silver", "school_sen", "one row per pupil and academic year",
                key=("pupil_key", "academic_year"),
                checks={"known_sen": "sen_provision IS NULL OR sen_provision IN ('E', 'K', 'N')"},
                columns=(
        Column("pupil_key", STRING, "keyed pseudonym of the pupil (HMAC-SHA-256 of PMR or UPN)", not_null=True),
        Column("academic_year", INT, "academic year end (2015/16 -> 2016)", not_null=True),
        Column("sen_provision", STRING, "SEN provision E/K/N"),
    )),
    TableSchema("silver", "section47", "one row per enquiry",
                key=("section47_key",), columns=(
        Column("section47_key", STRING, "key of the enquiry: sha2(referral_key|start_date)", not_null=True),
        Column("referral_key", STRING, "key of the referral (silver.referrals)", not_null=True),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)", not_null=True),
        Column("la_code", STRING, "3-digit LA code"),
        Column("start_date", DATE, "start date of the record", not_null=True),
        Column("icpc_target_date", DATE, "target date of the initial child protection conference"),
        Column("icpc_date", DATE, "date of the initial child protection conference"),
        Column("icpc_not_required", BOOLEAN, "initial conference marked not required"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("source_file", STRING, "CIN XML only"),
    )),
)

GOLD: tuple[TableSchema, ...] = (
    TableSchema("gold", "assessment_category", "one row per assessment in silver.assessments: its demand category (0 when it has no factors)",
                key=("assessment_key",),
                contract=("assessment_key", "child_key", "la_code", "collection_year", "category_id", "category_name",
                          "posterior_probability", "model_name", "model_version"),
                columns=(
        Column("assessment_key", STRING, "key of the assessment (as in silver.assessments)"),
        Column("child_key", STRING, "pseudonymised child (as in silver.assessments)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("collection_year", INT, "collection year (ending 31 March) of the return holding the assessment"),
        Column("category_id", INT, "demand category id from conf/categories.yml; 101, 102, ... for an unmatched class; 0 for no factors"),
        Column("category_name", STRING, "category name from conf/categories.yml, 'Top factors: ...' for unmatched "
                                        "classes, 'No factors identified' for category 0"),
        Column("posterior_probability", DOUBLE, "posterior probability of the assigned (modal) category given the "
                                                "assessment's indicators; **null** for category 0"),
        Column("model_name", STRING, "registered model name (csc_demand_categories) when scored from the registry; "
                                     "file:<name> when scored from --params FILE"),
        Column("model_version", STRING, "registered model version (e.g. '1'); the first 12 hex digits of the file's "
                                        "SHA-256 for --params"),
    )),
    TableSchema("gold", "assessment_pathways", "one row per assessment authorised from 1 April of the first collection year with assessments: CP plan and care after it",
                key=("assessment_key",), columns=(
        Column("assessment_key", STRING, "key of the assessment (silver.assessments)"),
        Column("referral_key", STRING, "key of the referral (silver.referrals)"),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("collection_year", INT, "collection year of the latest return holding it"),
        Column("start_date", DATE, "assessment start: the window opens here"),
        Column("authorised_date", DATE, "date the assessment was authorised"),
        Column("authorised_year", INT, "collection year of authorisation"),
        Column("window_end", DATE, "start + window months"),
        Column("complete_window", BOOLEAN, "window_end <= end of data"),
        Column("age_band", STRING, "at authorisation"),
        Column("sex", STRING, "sex M/F/U"),
        Column("ethnic_group", STRING, "ethnic group White/Mixed/Asian/Black/Chinese/Other/Unknown"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
        Column("next_cp_plan_start", DATE, "first CP plan start on or after the assessment start"),
        Column("next_care_start", DATE, "on or after the start date"),
        Column("cp_plan_within_window", BOOLEAN, "a CP plan started within the window"),
        Column("care_within_window", BOOLEAN, "a period of care started within the window"),
    )),
    TableSchema("gold", "care_periods_by_category", "children in care, repeat periods and re-entries after a return home, by category",
                key=("la_code", "category_id", "category_name"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "the category of the child's first period of care in the data, as in "
                                        "gold.care_reentry; all: every child, id null; unknown: none"),
        Column("children", LONG, "with a period of care"),
        Column("children_multiple_periods", LONG, "children with 2+ periods of care"),
        Column("multiple_periods_rate", DOUBLE, "children_multiple_periods / children"),
        Column("periods", LONG, "those children's periods"),
        Column("returned_home", LONG, "periods ending E4A/E4B"),
        Column("returned_home_followed_12m", LONG, "returns home whose 12 months after fall on or before the censor "
                                                   "date"),
        Column("reentries_12m", LONG, "of those, a new period within 12 calendar months"),
        Column("reentry_rate_12m", DOUBLE, "null when none followed"),
    )),
    TableSchema("gold", "care_reentry", "one row per period of care: return home and follow-up to re-entry",
                key=("child_key", "period_start"), columns=(
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("period_start", DATE, "start of the period of care"),
        Column("period_end", DATE, "end of the period (null = still in care)"),
        Column("end_rec", STRING, "reason episode ceased (REC) of the period's last episode"),
        Column("period_number", INT, "1 = the child's first period of care"),
        Column("returned_home", BOOLEAN, "the period ended in a return home (REC E4A/E4B)"),
        Column("next_period_start", DATE, "start of the next period of care"),
        Column("days_home_to_reentry", INT, "days from the return home to the next period start (uncensored)"),
        Column("censor_date", DATE, "earlier of end of data and 18th birthday"),
        Column("at_risk", BOOLEAN, "interval start known and on or before the censor date"),
        Column("event", BOOLEAN, "next event on or before the censor date; null when not at risk"),
        Column("censored", BOOLEAN, "at risk, no event"),
        Column("followup_days", INT, "days to the event or censor date"),
        Column("potential_followup_days", INT, "days to the censor date"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
    )),
    TableSchema("gold", "category_demographics", "CP plan and care rates after assessment by category and demographic group (complete windows)",
                key=("la_code", "dimension", "value", "category_id", "category_name"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("dimension", STRING, "all, age_band at authorisation, sex, ethnic_group"),
        Column("value", STRING, "all for dimension all; unknown when null"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "all: every category, id null; unknown: none, id null"),
        Column("assessments", LONG, "authorised assessments"),
        Column("cp_plans", LONG, "assessments followed by a CP plan within the window"),
        Column("cp_plan_rate", DOUBLE, "cp_plans / assessments"),
        Column("care_entries", LONG, "assessments followed by a period of care within the window"),
        Column("care_rate", DOUBLE, "as gold.pathway_rates"),
    )),
    TableSchema("gold", "category_profiles", "the fitted model's class sizes and P(indicator | category): one row per category and indicator",
                key=("category_id", "indicator"), columns=(
        Column("category_id", INT, "as in gold.assessment_category"),
        Column("category_name", STRING, "as in gold.assessment_category"),
        Column("class_size", DOUBLE, "the model's prior share of the class (sums to 1 over categories)"),
        Column("indicator", STRING, "model indicator (csc_demand.codes.INDICATOR_NAMES)"),
        Column("factor_codes", STRING, "the CIN factor codes that set the indicator, e.g. '3B' or '18A, 18B, 18C'"),
        Column("indicator_label", STRING, "the indicator's name in words, e.g. 'Domestic abuse parent'"),
        Column("probability", DOUBLE, "P(indicator recorded | category)"),
    )),
    TableSchema("gold", "category_thresholds", "categories at each threshold of the system: assessment, CIN plan, CP plan, care",
                key=("la_code", "threshold", "category_id"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("threshold", STRING, "assessment, cin_plan, cp_plan or in_care"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "a plan or period: the child's latest authorised assessment **started** on or"
                                        " before its start; unknown, id null: none"),
        Column("count", LONG, "records at the threshold"),
        Column("share", DOUBLE, "(of the threshold-LA total). No cin_plan rows without silver.cin_plans"),
    )),
    TableSchema("gold", "category_trends", "authorised assessments by year, LA and category, with each category's share",
                key=("authorised_year", "la_code", "category_id"), columns=(
        Column("authorised_year", INT, "collection year of authorisation"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
        Column("assessments", LONG, "authorised assessments with factors, category id >= 1"),
        Column("share", DOUBLE, "of the year-LA total"),
    )),
    TableSchema("gold", "complexity_trends", "factors and factor groups per authorised assessment, by year and LA",
                key=("authorised_year", "la_code"), columns=(
        Column("authorised_year", INT, "collection year of the authorisation date"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("assessments", LONG, "authorised, with factors"),
        Column("factors", LONG, "sum of distinct factor codes"),
        Column("mean_factors", DOUBLE, "factors / assessments"),
        Column("with_2plus_groups", LONG, "assessments with factors of 2 or more groups"),
        Column("with_3plus_groups", LONG, "factor groups: numeric part of the code"),
        Column("in_complex_categories", LONG, "category flagged complex: true in conf/categories.yml; null without "
                                              "categories"),
        Column("share_2plus_groups", DOUBLE, "with_2plus_groups / assessments"),
        Column("share_3plus_groups", DOUBLE, "with_3plus_groups / assessments"),
        Column("share_complex_categories", DOUBLE, "of assessments"),
    )),
    TableSchema("gold", "cp_plan_sequence", "one row per CP plan: plan number, repeat plan and follow-up to the next plan",
                key=("cp_plan_key",), columns=(
        Column("cp_plan_key", STRING, "key of the CP plan (silver.cp_plans)"),
        Column("referral_key", STRING, "key of the referral (silver.referrals)"),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("start_date", DATE, "start date of the record"),
        Column("end_date", DATE, "end date (null = open)"),
        Column("start_year", INT, "collection year of the start date"),
        Column("plan_number", INT, "1 = first in data"),
        Column("number_of_previous_cpp", INT, "NumberOfPreviousCPP as received"),
        Column("repeat_plan", BOOLEAN, "a repeat CP plan (number_of_previous_cpp > 0 or an earlier plan in data)"),
        Column("next_plan_start", DATE, "start of the child's next CP plan"),
        Column("days_end_to_next_plan", INT, "days from the plan end to the next plan start (uncensored)"),
        Column("censor_date", DATE, "earlier of end of data and 18th birthday"),
        Column("at_risk", BOOLEAN, "interval start known and on or before the censor date"),
        Column("event", BOOLEAN, "next event on or before the censor date; null when not at risk"),
        Column("censored", BOOLEAN, "at risk, no event"),
        Column("followup_days", INT, "days to the event or censor date"),
        Column("potential_followup_days", INT, "days to the censor date"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
    )),
    TableSchema("gold", "cp_plans_by_abuse", "repeat CP plans by initial category of abuse and age band",
                key=("la_code", "initial_category", "age_band"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("initial_category", STRING, "NEG/PHY/SAB/EMO/MUL; unknown when missing; all"),
        Column("age_band", STRING, "at plan start, bands of followup.age_band; all"),
        Column("plans", LONG, "CP plans started"),
        Column("repeat_plans", LONG, "gold.cp_plan_sequence.repeat_plan"),
        Column("repeat_rate", DOUBLE, "repeat_plans / plans"),
    )),
    TableSchema("gold", "data_quality", "records received, accepted and quarantined per return, silver table and rule",
                key=("la_code", "collection_year", "source_file", "table_name", "rule_id"), columns=(
        Column("la_code", STRING, "NPD files: each row's LA"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("source_file", STRING, "file of the surviving copy, relative to --source"),
        Column("table_name", STRING, "silver table the records were for"),
        Column("rule_id", STRING, "all for the return's totals, else a DfE or CSC rule id"),
        Column("received", LONG, "records received"),
        Column("accepted", LONG, "records accepted"),
        Column("quarantined", LONG, "records quarantined (all rows: received = accepted + quarantined; rule rows: that rule's count)"),
        Column("quarantined_with_parent", LONG, "of those, records rejected with the referral or child holding them; "
                                                "their rule is the parent's"),
        Column("message", STRING, "the rule's text; null on all rows"),
    )),
    TableSchema("gold", "education_by_category", "KS4 outcomes of involved pupils by demand category",
                key=("la_code", "category_name"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "category of the last assessment authorised before the end of KS4; unknown: none; all: every pupil"),
        Column("pupils", LONG, "pupils in the group"),
        Column("att8_pupils", LONG, "pupils with an Attainment 8 score"),
        Column("mean_att8", DOUBLE, "mean Attainment 8 of pupils with a score"),
        Column("att8_ratio_to_never_referred", DOUBLE, "mean Attainment 8 / that of England's never-referred pupils"),
        Column("suspended", LONG, "suspended at least once"),
        Column("suspension_rate", DOUBLE, "suspended / pupils"),
        Column("suspension_rate_ratio", DOUBLE, "suspension_rate / that of England's never-referred pupils"),
        Column("permanently_excluded", LONG, "permanently excluded"),
        Column("exclusion_rate", DOUBLE, "permanently_excluded / pupils"),
        Column("exclusion_rate_ratio", DOUBLE, "ratios to England's never-referred pupils"),
        Column("history_from", DATE, "first day of observable CIN history"),
        Column("ks4_years", STRING, "the KS4 cohorts reported, e.g. 2015-2021"),
    )),
    TableSchema("gold", "education_gaps", "KS4 outcomes by involvement with children's social care, SEN status and episodes",
                key=("la_code", "breakdown", "involvement", "sen_status", "episodes_group"), columns=(
        Column("la_code", STRING, "'ALL' = England; an LA has rows for its involved pupils only"),
        Column("breakdown", STRING, "involvement, involvement_by_sen, episodes"),
        Column("involvement", STRING, "never_referred, child_in_need, cp_plan or in_care"),
        Column("sen_status", STRING, "'all' unless by SEN"),
        Column("episodes_group", STRING, "'all' unless episodes"),
        Column("pupils", LONG, "pupils in the group"),
        Column("att8_pupils", LONG, "pupils with an Attainment 8 score"),
        Column("mean_att8", DOUBLE, "mean Attainment 8 of pupils with a score"),
        Column("att8_ratio_to_never_referred", DOUBLE, "mean Attainment 8 / that of England's never-referred pupils"),
        Column("suspended", LONG, "suspended at least once"),
        Column("suspension_rate", DOUBLE, "suspended / pupils"),
        Column("suspension_rate_ratio", DOUBLE, "suspension_rate / that of England's never-referred pupils"),
        Column("permanently_excluded", LONG, "permanently excluded"),
        Column("exclusion_rate", DOUBLE, "permanently_excluded / pupils"),
        Column("exclusion_rate_ratio", DOUBLE, "ratios to England's never-referred pupils of the same SEN status; "
                                               "null when that rate is 0"),
        Column("history_from", DATE, "first day of observable CIN history"),
        Column("ks4_years", STRING, "the KS4 cohorts reported, e.g. 2015-2021"),
    )),
    TableSchema("gold", "education_involvement", "one row per KS4 pupil of the observable cohorts: involvement with children's social care and outcomes",
                key=("pupil_key",), columns=(
        Column("pupil_key", STRING, "keyed pseudonym of the pupil (HMAC-SHA-256 of PMR or UPN)"),
        Column("ks4_year", INT, "KS4 academic year end"),
        Column("la_code", STRING, "LA of the latest event before the end of KS4; null when never referred"),
        Column("involvement_level", INT, "0-3: never referred, child in need, CP plan, in care"),
        Column("involvement", STRING, "never_referred, child_in_need, cp_plan, in_care"),
        Column("episodes", LONG, "CIN referrals before the end of KS4"),
        Column("episodes_group", STRING, "none, one, several"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "of the last assessment authorised before the end of KS4; unknown when "
                                        "involved without one; null when never referred"),
        Column("sen_provision", STRING, "SEN provision E/K/N"),
        Column("sen_status", STRING, "SEN, no SEN, unknown"),
        Column("att8", DOUBLE, "Attainment 8 score"),
        Column("suspended", BOOLEAN, "suspended at least once"),
        Column("permanently_excluded", BOOLEAN, "permanently excluded"),
        Column("history_from", DATE, "first day of observable CIN history"),
        Column("ks4_years", STRING, "the KS4 cohorts reported, e.g. 2015-2021"),
    )),
    TableSchema("gold", "education_sen_gaps", "Attainment 8 gap between pupils with and without SEN, by involvement",
                key=("la_code", "involvement"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("involvement", STRING, "never_referred, child_in_need, cp_plan or in_care"),
        Column("pupils_sen", LONG, "pupils with SEN with a score"),
        Column("pupils_no_sen", LONG, "pupils with a score each mean rests on"),
        Column("att8_sen", DOUBLE, "mean Attainment 8 of pupils with SEN"),
        Column("att8_no_sen", DOUBLE, "mean Attainment 8 of pupils without SEN"),
        Column("att8_gap", DOUBLE, "no SEN minus SEN, points"),
        Column("att8_relative_gap", DOUBLE, "att8_gap / att8_no_sen"),
        Column("did_estimate", DOUBLE, "relative gap minus England's never-referred relative gap; null on that row"),
        Column("did_ci_lower", DOUBLE, "lower bound of the 95% interval of did_estimate"),
        Column("did_ci_upper", DOUBLE, "95%, delta method; docs/methods.md"),
        Column("suspension_ratio_sen", DOUBLE, "suspension rate with SEN / without SEN"),
        Column("exclusion_ratio_sen", DOUBLE, "SEN rate / no-SEN rate"),
        Column("history_from", DATE, "first day of observable CIN history"),
        Column("ks4_years", STRING, "the KS4 cohorts reported, e.g. 2015-2021"),
    )),
    TableSchema("gold", "pathway_factor_combinations", "CP plan and care rates after assessments with domestic abuse factors (complete windows)",
                key=("la_code", "combination"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("combination", STRING, "domestic_abuse_alone, domestic_abuse_with_neglect (16A) or domestic_abuse_with_other"),
        Column("assessments", LONG, "authorised assessments"),
        Column("cp_plans", LONG, "assessments followed by a CP plan within the window"),
        Column("cp_plan_rate", DOUBLE, "cp_plans / assessments"),
        Column("care_entries", LONG, "assessments followed by a period of care within the window"),
        Column("care_rate", DOUBLE, "as gold.pathway_rates"),
    )),
    TableSchema("gold", "pathway_odds_ratios", "odds ratios of a CP plan or care within the window after assessment (logistic regression)",
                key=("la_code", "outcome", "covariate", "level"), columns=(
        Column("la_code", STRING, "'ALL' only: one fit over England"),
        Column("outcome", STRING, "cp_plan_within_window, care_within_window"),
        Column("covariate", STRING, "covariate of the fit"),
        Column("level", STRING, "level of the covariate"),
        Column("reference", STRING, "most frequent level"),
        Column("odds_ratio", DOUBLE, "odds ratio against the reference level"),
        Column("ci_lower", DOUBLE, "lower bound of the 95% interval"),
        Column("ci_upper", DOUBLE, "upper bound of the 95% interval"),
        Column("coefficient", DOUBLE, "log odds ratio"),
        Column("std_error", DOUBLE, "standard error of the coefficient"),
        Column("p_value", DOUBLE, "Wald test p-value"),
        Column("n_level", LONG, "rows of the level in the fit, or left out"),
        Column("n_total", LONG, "rows in the fit"),
        Column("not_estimable", STRING, "null when estimated, else why not: no events, all events, no rows left or not converged"),
    )),
    TableSchema("gold", "pathway_rates", "CP plan and care rates within the window after assessment, by group (complete windows)",
                key=("la_code", "group_by", "group_value"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("group_by", STRING, "all, category_name, age_band, sex, ethnic_group"),
        Column("group_value", STRING, "level of group_by (unknown for null)"),
        Column("assessments", LONG, "authorised assessments"),
        Column("cp_plans", LONG, "assessments followed by a CP plan within the window"),
        Column("cp_plan_rate", DOUBLE, "cp_plans / assessments"),
        Column("care_entries", LONG, "assessments followed by a period of care within the window"),
        Column("care_rate", DOUBLE, "care_entries / assessments"),
    )),
    TableSchema("gold", "referral_windows", "one row per referral: re-referral within 12 months and follow-up after closure",
                key=("referral_key",), columns=(
        Column("referral_key", STRING, "key of the referral (silver.referrals)"),
        Column("child_key", STRING, "keyed pseudonym of the child (HMAC-SHA-256 of la_code|LAchildID)"),
        Column("la_code", STRING, "3-digit LA code"),
        Column("referral_date", DATE, "date of the referral"),
        Column("closure_date", DATE, "date the referral closed (null = open)"),
        Column("collection_year", INT, "collection year (ending 31 March) of the latest return holding the record"),
        Column("referral_year", INT, "collection year of the referral date"),
        Column("previous_referral_date", DATE, "the child's previous referral date"),
        Column("rereferral_12m", BOOLEAN, "a re-referral within 12 months of the previous referral (DfE)"),
        Column("next_referral_date", DATE, "next referral on or after closure"),
        Column("days_closure_to_next_referral", INT, "days from closure to the next referral (uncensored)"),
        Column("censor_date", DATE, "earlier of end of data and 18th birthday"),
        Column("at_risk", BOOLEAN, "interval start known and on or before the censor date"),
        Column("event", BOOLEAN, "next event on or before the censor date; null when not at risk"),
        Column("censored", BOOLEAN, "at risk, no event"),
        Column("followup_days", INT, "days to the event or censor date"),
        Column("potential_followup_days", INT, "days to the censor date"),
        Column("category_id", INT, "demand category id (gold.assessment_category); null without categories"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
    )),
    TableSchema("gold", "repeat_plan_rates", "repeat CP plan rates by start year and category",
                key=("la_code", "start_year", "category_name"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("start_year", INT, "collection year of the start date"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
        Column("plans", LONG, "CP plans started"),
        Column("repeat_plans", LONG, "repeat CP plans"),
        Column("repeat_rate", DOUBLE, "repeat_plans / plans"),
    )),
    TableSchema("gold", "rereferral_rates", "re-referrals within 12 months by referral year and category ('all' = every category)",
                key=("la_code", "referral_year", "category_name"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("referral_year", INT, "collection year of the referral date"),
        Column("category_name", STRING, "demand category name (gold.assessment_category); null without categories"),
        Column("referrals", LONG, "referrals in the group"),
        Column("rereferrals_12m", LONG, "re-referrals within 12 months (DfE)"),
        Column("rereferral_rate", DOUBLE, "rereferrals_12m / referrals"),
    )),
    TableSchema("gold", "survival_estimates", "cumulative incidence of re-referral, repeat CP plan and re-entry to care by horizon",
                key=("la_code", "measure", "group_by", "group_value", "horizon_days"), columns=(
        Column("la_code", STRING, "3-digit LA code"),
        Column("measure", STRING, "rereferral_after_closure, repeat_cp_plan, reentry_after_return_home"),
        Column("group_by", STRING, "all or category_name"),
        Column("group_value", STRING, "unknown for null"),
        Column("horizon_days", LONG, "every 30 days from 30 to 2190, and 365; 365 and 2190 are the headline horizons"),
        Column("cumulative_incidence", DOUBLE, "Aalen-Johansen / Kaplan-Meier cumulative incidence at the horizon"),
        Column("ci_lower", DOUBLE, "lower bound of the 95% interval"),
        Column("ci_upper", DOUBLE, "95%, log-log Greenwood"),
        Column("n_at_risk", LONG, "followed at the horizon"),
        Column("events", LONG, "up to the horizon"),
        Column("subjects", LONG, "subjects in the estimate"),
        Column("n_complete", LONG, "potential follow-up >= horizon"),
        Column("raw_share", DOUBLE, "events within horizon / n_complete"),
    )),
)

TABLES: dict[tuple[str, str], TableSchema] = {(t.layer, t.name): t for t in SILVER + GOLD}


def table_schema(layer: str, table: str) -> TableSchema:
    return TABLES[(layer, table)]


def with_comments(df: DataFrame, schema: TableSchema) -> DataFrame:
    """``df`` with each registered column's comment in its field metadata, which Delta stores with the schema (and
    Unity Catalog shows as the column comment) when a write replaces the schema."""
    comments = {c.name: c.comment for c in schema.columns}
    return df.select(*[df[c].alias(c, metadata={"comment": comments[c]}) if c in comments else df[c]
                       for c in df.columns])


def check_schema(df: DataFrame, layer: str, table: str) -> DataFrame:
    """Return ``df`` unchanged when it has every contract column of ``layer.table`` with its registered type (more
    columns are allowed); else raise a SchemaContractError naming the table and each column missing or of another
    type, expected and found (the check of quinn's ``validate_schema``, nullability ignored)."""
    schema = table_schema(layer, table)
    found = {f.name: f.dataType for f in df.schema.fields}
    problems = []
    for column in (c for c in schema.columns if c.name in schema.contract):
        expected = column.type.simpleString()
        if column.name not in found:
            problems.append(f"{column.name} ({expected}) is missing")
        elif found[column.name].simpleString() != expected:
            problems.append(f"{column.name} is {found[column.name].simpleString()}, expected {expected}")
    if problems:
        raise SchemaContractError(f"{layer}.{table}: " + "; ".join(problems) + " (see docs/tables.md); re-run the "
                                  "stage that writes it")
    return df

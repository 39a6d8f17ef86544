"""Gold tables written by ``csc-demand outcomes`` and how each is disclosure-controlled before leaving.

Row-level tables (one row per referral, plan, period, assessment or pupil) stay inside the secure environment;
aggregate tables leave only through ``csc_demand.report.publish.publish`` with these count and derived columns.
"""
from __future__ import annotations

ROW_LEVEL_TABLES = ("referral_windows", "cp_plan_sequence", "care_reentry", "assessment_pathways",
                    "education_involvement")
# table -> (count columns, columns derived from them)
AGGREGATE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "survival_estimates": (("n_at_risk", "events", "subjects", "n_complete"),
                           ("cumulative_incidence", "ci_lower", "ci_upper", "raw_share")),
    "rereferral_rates": (("referrals", "rereferrals_12m"), ("rereferral_rate",)),
    "repeat_plan_rates": (("plans", "repeat_plans"), ("repeat_rate",)),
    "pathway_rates": (("assessments", "cp_plans", "care_entries"), ("cp_plan_rate", "care_rate")),
    # not_estimable says whether a level had no events or only events: blanked with the estimates.
    "pathway_odds_ratios": (("n_level", "n_total"), ("odds_ratio", "ci_lower", "ci_upper", "coefficient",
                                                      "std_error", "p_value", "not_estimable")),
    "education_gaps": (("pupils", "att8_pupils", "suspended", "permanently_excluded"),
                       ("mean_att8", "att8_ratio_to_never_referred", "suspension_rate", "suspension_rate_ratio",
                        "exclusion_rate", "exclusion_rate_ratio")),
    "education_by_category": (("pupils", "att8_pupils", "suspended", "permanently_excluded"),
                              ("mean_att8", "att8_ratio_to_never_referred", "suspension_rate",
                               "suspension_rate_ratio", "exclusion_rate", "exclusion_rate_ratio")),
    # suspension and exclusion ratios rest on all pupils of the group: publish them only where its
    # education_gaps cells pass.
    "education_sen_gaps": (("pupils_sen", "pupils_no_sen"),
                           ("att8_sen", "att8_no_sen", "att8_gap", "att8_relative_gap", "did_estimate",
                            "did_ci_lower", "did_ci_upper", "suspension_ratio_sen", "exclusion_ratio_sen")),
    "category_trends": (("assessments",), ("share",)),
    "complexity_trends": (("assessments", "factors", "with_2plus_groups", "with_3plus_groups",
                           "in_complex_categories"),
                          ("mean_factors", "share_2plus_groups", "share_3plus_groups", "share_complex_categories")),
    "category_thresholds": (("count",), ("share",)),
    "pathway_factor_combinations": (("assessments", "cp_plans", "care_entries"), ("cp_plan_rate", "care_rate")),
    "category_demographics": (("assessments", "cp_plans", "care_entries"), ("cp_plan_rate", "care_rate")),
    "care_periods_by_category": (("children", "children_multiple_periods", "periods", "returned_home",
                                  "returned_home_followed_12m", "reentries_12m"),
                                 ("multiple_periods_rate", "reentry_rate_12m")),
    "cp_plans_by_abuse": (("plans", "repeat_plans"), ("repeat_rate",)),
}
GOLD_TABLES = (*ROW_LEVEL_TABLES, *AGGREGATE_TABLES)

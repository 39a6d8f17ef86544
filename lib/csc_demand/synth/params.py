"""The true model behind the synthetic data: 12 demand classes, their factor profiles, sizes by year, and the
effect sizes that make outcomes depend on class and demographics.

Everything here is plain numpy and fixed numbers (no randomness), so the truth files can be written from it and
the generator broadcasts it as literal arrays. Factor profiles are first written by hand from the category
descriptions (DOMAIN.md section 3) and then calibrated, indicator by indicator, so that the marginal rate of
each factor among assessments with factors matches DfE's c3 table (2018-2021 mean).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from scipy import optimize

from csc_demand.codes import INDICATOR_NAMES

N_IND = len(INDICATOR_NAMES)
IDX = {name: i for i, name in enumerate(INDICATOR_NAMES)}

CLASS_NAMES: tuple[str, ...] = (
    "domestic_abuse_single",            # published 19.7%
    "parental_mental_health_complex",   # published 18.4%
    "neglect",
    "complex_domestic_abuse",
    "child_mental_health",
    "disability",
    "other",
    "other_person_in_household",
    "physical_sexual_abuse_single",
    "risks_outside_home",
    "risks_in_and_outside_home",
    "parental_illness_young_carer",
)
K = len(CLASS_NAMES)
C = {name: i for i, name in enumerate(CLASS_NAMES)}

# Class sizes (share of assessments with factors) in collection year 2018 and the change per year (percentage
# points). Child mental health more than doubles 2015 -> 2021; complex needs grow, single-factor DA shrinks.
SIZE_2018 = np.array([19.7, 18.4, 9.0, 8.9, 7.0, 6.5, 8.5, 5.0, 7.0, 4.0, 3.0, 3.0])
SIZE_SLOPE = np.array([-0.2, 0.9, -0.45, 0.0, 0.85, 0.1, -0.45, -0.2, -0.6, 0.1, 0.15, -0.2])
SIZE_CENTRE_YEAR = 2018
# Realised / sampling size per class measured on a generated set (seed 20240601, scale 1.0): classes that come back
# more often (and keep their class on re-referral) are over-represented among assessments. Draws divide by this so the
# realised sizes land on class_sizes().
DRAW_ADJUST = np.array([1.007, 1.003, 1.10, 1.047, 0.901, 0.976, 0.975, 1.027, 0.963, 0.937, 0.94, 0.989])

# Hand-written profiles: P(indicator | class) before calibration; unlisted indicators get BACKGROUND.
BACKGROUND = 0.006
PROFILES: dict[str, dict[str, float]] = {
    "domestic_abuse_single": {"domestic_abuse_parent": 0.97, "domestic_abuse_child": 0.28},
    "parental_mental_health_complex": {
        "mental_health_parent": 0.93, "alcohol_parent": 0.42, "drugs_parent": 0.42, "domestic_abuse_parent": 0.22,
        "emotional_abuse": 0.10, "neglect": 0.06, "domestic_abuse_child": 0.12, "other": 0.12},
    "neglect": {"neglect": 0.93, "emotional_abuse": 0.30, "mental_health_parent": 0.12, "physical_abuse": 0.15,
                "learning_disability_parent": 0.06, "other": 0.15},
    "complex_domestic_abuse": {
        "domestic_abuse_parent": 0.95, "domestic_abuse_child": 0.65, "emotional_abuse": 0.80,
        "mental_health_parent": 0.20, "physical_abuse": 0.30, "neglect": 0.20, "alcohol_parent": 0.05,
        "drugs_parent": 0.05, "other": 0.15},
    "child_mental_health": {"mental_health_child": 0.95, "self_harm": 0.30, "learning_disability_child": 0.03,
                            "other": 0.10},
    "disability": {"learning_disability_child": 0.80, "physical_disability_child": 0.50,
                   "mental_health_child": 0.04, "other": 0.10},
    "other": {"other": 0.96, "unaccompanied_asylum_seeker": 0.06, "privately_fostered": 0.05,
              "faith_linked_abuse": 0.02, "female_genital_mutilation": 0.015, "trafficking": 0.01},
    "other_person_in_household": {
        "domestic_abuse_other": 0.50, "mental_health_other": 0.40, "alcohol_other": 0.30, "drugs_other": 0.40,
        "learning_disability_other": 0.15, "physical_disability_other": 0.12, "other": 0.10},
    "physical_sexual_abuse_single": {"physical_abuse": 0.68, "sexual_abuse": 0.40},
    "risks_outside_home": {
        "going_missing": 0.55, "sexual_exploitation": 0.45, "gangs_criminal_exploitation": 0.40,
        "drugs_child": 0.50, "alcohol_child": 0.30, "socially_unacceptable_behaviour": 0.45, "self_harm": 0.10,
        "mental_health_child": 0.25, "trafficking": 0.06, "other": 0.10},
    "risks_in_and_outside_home": {
        "socially_unacceptable_behaviour": 0.65, "mental_health_child": 0.45, "emotional_abuse": 0.45,
        "domestic_abuse_child": 0.35, "domestic_abuse_parent": 0.40, "mental_health_parent": 0.35,
        "neglect": 0.30, "self_harm": 0.25, "going_missing": 0.15, "drugs_child": 0.20, "physical_abuse": 0.25,
        "learning_disability_child": 0.20, "other": 0.20},
    "parental_illness_young_carer": {
        "young_carer": 0.75, "physical_disability_parent": 0.65, "learning_disability_parent": 0.30,
        "mental_health_parent": 0.35, "physical_disability_other": 0.10, "other": 0.15},
}
MAX_P = 0.985

# c3 column -> indicator (split physical/sexual abuse codes and criminal exploitation are summed).
C3_COLUMNS: dict[str, tuple[str, ...]] = {
    "alcohol_child": ("Alcohol_Misuse_child",), "alcohol_parent": ("Alcohol_Misuse_parent",),
    "alcohol_other": ("Alcohol_Misuse_person",), "drugs_child": ("Drug_Misuse_child",),
    "drugs_parent": ("Drug_Misuse_parent",), "drugs_other": ("Drug_Misuse_person",),
    "domestic_abuse_child": ("Domestic_Abuse_child",), "domestic_abuse_parent": ("Domestic_Abuse_parent",),
    "domestic_abuse_other": ("Domestic_Abuse_person",), "mental_health_child": ("Mental_Health_child",),
    "mental_health_parent": ("Mental_Health_parent",), "mental_health_other": ("Mental_Health_person",),
    "learning_disability_child": ("Learning_Disability_child",),
    "learning_disability_parent": ("Learning_Disability_parent",),
    "learning_disability_other": ("Learning_Disability_person",),
    "physical_disability_child": ("Physical_Disability_child",),
    "physical_disability_parent": ("Physical_Disability_parent",),
    "physical_disability_other": ("Physical_Disability_person",),
    "young_carer": ("Young_Carer",), "privately_fostered": ("Privately_fostered",),
    "unaccompanied_asylum_seeker": ("Unaccompanied_asylum_seeker",), "going_missing": ("Going_missing",),
    "sexual_exploitation": ("Child_sexual_exploitation",), "trafficking": ("Trafficking",),
    "gangs_criminal_exploitation": ("Gangs", "Child_criminal_exploitation"),
    "socially_unacceptable_behaviour": ("Socially_unacceptable_behaviour",), "self_harm": ("Self_harm",),
    "neglect": ("Neglect",), "emotional_abuse": ("Emotional_Abuse",),
    "physical_abuse": ("Physical_Abuse_unknown", "Physical_Abuse_child_on_child", "Physical_Abuse_adult_on_child"),
    "sexual_abuse": ("Sexual_Abuse_unknown", "Sexual_Abuse_child_on_child", "Sexual_Abuse_adult_on_child"),
    "other": ("Other",), "female_genital_mutilation": ("Female_Genital_Mutilation",),
    "faith_linked_abuse": ("Faith_linked_abuse",),
}
CALIBRATION_YEARS = (2018, 2019, 2020, 2021)
# Per-year size fit: the classes whose published sizes stay on the trend, and how hard the others are pulled to it.
PUBLISHED_SIZE_CLASSES = ("domestic_abuse_single", "parental_mental_health_complex")
STUDY_LAST_YEAR = 2021
TREND_PULL = 0.02
CALIBRATION_ROUNDS = 4


def dfe_c3_table() -> pd.DataFrame:
    """DfE c3 (factors at assessment, national), as shipped in the package; 'x' (suppressed) read as 0."""
    with resources.files("csc_demand.synth").joinpath("data/dfe_c3_factors_national_2018_2025.csv").open() as fh:
        raw = pd.read_csv(fh, dtype=str)
    table = raw.set_index("time_period").replace({"x": "0", "z": "0"}).astype(float)
    table.index = table.index.astype(int)
    return table.sort_index()


def dfe_indicator_rates() -> pd.DataFrame:
    """Year x indicator: share of episodes with assessment factors recording the indicator (0-1)."""
    c3 = dfe_c3_table()
    rates = {name: c3[list(cols)].sum(axis=1) / c3["Episodes_with_assessment_factor"]
             for name, cols in C3_COLUMNS.items()}
    return pd.DataFrame(rates)[list(INDICATOR_NAMES)]


def trend_sizes(year: int) -> np.ndarray:
    """Class sizes (sum 1) from the linear trend alone (years clamped 2008-2025)."""
    year = min(max(year, 2008), 2025)
    sizes = np.clip(SIZE_2018 + SIZE_SLOPE * (year - SIZE_CENTRE_YEAR), 0.5, None)
    return sizes / sizes.sum()


def class_sizes(year: int) -> np.ndarray:
    """True class sizes (sum 1) among assessments with factors for a collection year: fitted to DfE's c3 factor
    rates in the years DfE publishes, the linear trend elsewhere."""
    return _calibration()[1].get(year, trend_sizes(year))


def draw_weights(year: int) -> np.ndarray:
    """Sampling weights for a referral's class in a year (class_sizes corrected by DRAW_ADJUST)."""
    weights = class_sizes(year) / DRAW_ADJUST
    return weights / weights.sum()


def _hand_profiles() -> np.ndarray:
    probs = np.full((K, N_IND), BACKGROUND)
    for cls, profile in PROFILES.items():
        for ind, p in profile.items():
            probs[C[cls], IDX[ind]] = p
    return probs


def truncated_marginals(probs: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Marginal indicator rates among assessments with at least one factor (draws are conditioned on >= 1)."""
    p_nonempty = 1.0 - np.prod(1.0 - probs, axis=1)
    weights = sizes / p_nonempty
    return (weights @ probs) / weights.sum()


def conditional_probabilities() -> np.ndarray:
    """K x 34 true P(indicator | class): hand profiles scaled per indicator to hit the c3 2018-2021 mean."""
    return _calibration()[0]


def _scale_to_target(probs: np.ndarray, sizes: np.ndarray, target: np.ndarray) -> np.ndarray:
    for _ in range(200):
        probs = np.clip(probs * (target / truncated_marginals(probs, sizes))[None, :], 1e-4, MAX_P)
    return probs


def _fit_year_sizes(probs: np.ndarray, target: np.ndarray, trend: np.ndarray, in_study: bool) -> np.ndarray:
    """Class sizes closest to the year's DfE rates (least squares, a small pull towards the trend); in the study's
    years the two published classes keep their trend size so the study's shares hold."""
    fixed = np.zeros(K, bool)
    if in_study:
        fixed[[C[name] for name in PUBLISHED_SIZE_CLASSES]] = True
    free_total = 1.0 - trend[fixed].sum()

    def sizes_of(free: np.ndarray) -> np.ndarray:
        out = trend.copy()
        out[~fixed] = free
        return out

    def loss(free: np.ndarray) -> float:
        miss = truncated_marginals(probs, sizes_of(free)) - target
        return float(miss @ miss + TREND_PULL * np.sum((free - trend[~fixed]) ** 2))

    def sums_to_free_total(free: np.ndarray) -> float:
        return float(free.sum() - free_total)

    fit = optimize.minimize(loss, trend[~fixed], method="SLSQP", bounds=[(0.005, 0.5)] * int((~fixed).sum()),
                            constraints=[{"type": "eq", "fun": sums_to_free_total}],
                            options={"ftol": 1e-12, "maxiter": 500})
    return sizes_of(fit.x)


@lru_cache(maxsize=1)
def _calibration() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Profiles and per-year class sizes fitted in turn: profiles to the c3 2018-2021 mean, sizes to each year."""
    rates = dfe_indicator_rates()
    pooled_target = rates.loc[list(CALIBRATION_YEARS)].mean().to_numpy()
    sizes = {int(y): trend_sizes(int(y)) for y in rates.index}
    probs = _hand_profiles()
    for _ in range(CALIBRATION_ROUNDS):
        probs = _scale_to_target(probs, np.mean([sizes[y] for y in CALIBRATION_YEARS], axis=0), pooled_target)
        sizes = {y: _fit_year_sizes(probs, rates.loc[y].to_numpy(), trend_sizes(y), y <= STUDY_LAST_YEAR)
                 for y in sizes}
    return probs, sizes


@dataclass(frozen=True)
class ClassEffects:
    """Per-class outcome parameters (the truth records them in effects.json)."""
    return_prob: float      # P(re-referred at some time after closure), before censoring at 18 / data end
    return_mean_days: float  # mean of the slower exponential gap from closure to the next referral (QUICK_RETURN_*)
    cp_logit: float          # intercept of P(CP plan | assessment)
    care_logit: float        # intercept of P(period of care starts | assessment)
    cin_plan_prob: float     # P(CIN plan | assessed, no CP plan and no care)
    reentry_prob: float      # P(re-entry after returning home), per period of care
    extra_episodes_mean: float  # mean number of extra 903 episodes (placement changes) per period
    age_lo: float            # age at first referral ~ uniform(age_lo, age_hi) for children of this type
    age_hi: float
    male_share: float
    black_multiplier: float
    disabled_share: float
    cp_category: tuple      # weights over ABUSE_CATEGORIES (NEG PHY SAB EMO MUL)
    primary_need: str


EFFECTS: dict[str, ClassEffects] = {
    "domestic_abuse_single": ClassEffects(0.61, 1080, -3.3, -4.2, 0.40, 0.31, 0.6, 0, 15, 0.50, 1.0, 0.06,
                                          (0.2, 0, 0, 0.7, 0.1), "N1"),
    "parental_mental_health_complex": ClassEffects(0.72, 1010, -1.9, -3.2, 0.55, 0.37, 0.7, 0, 16, 0.50, 0.8, 0.07,
                                                   (0.45, 0, 0, 0.35, 0.2), "N3"),
    "neglect": ClassEffects(0.72, 1010, -1.6, -3.0, 0.55, 0.37, 0.7, 0, 15, 0.51, 1.0, 0.08,
                            (0.85, 0, 0, 0.05, 0.1), "N1"),
    "complex_domestic_abuse": ClassEffects(0.74, 990, -1.5, -3.1, 0.55, 0.37, 0.7, 0, 16, 0.50, 1.0, 0.07,
                                           (0.3, 0.05, 0, 0.45, 0.2), "N1"),
    "child_mental_health": ClassEffects(0.60, 1120, -3.6, -3.5, 0.45, 0.31, 0.8, 9, 17.5, 0.40, 0.9, 0.15,
                                        (0.2, 0.1, 0.05, 0.6, 0.05), "N6"),
    "disability": ClassEffects(0.65, 1120, -4.2, -4.1, 0.65, 0.56, 1.8, 0, 17.5, 0.68, 1.0, 0.78,
                               (0.5, 0.2, 0.1, 0.15, 0.05), "N2"),
    "other": ClassEffects(0.54, 1160, -3.4, -3.4, 0.35, 0.31, 0.6, 0, 17.5, 0.52, 1.3, 0.08,
                          (0.4, 0.2, 0.1, 0.25, 0.05), "N9"),
    "other_person_in_household": ClassEffects(0.63, 1080, -2.8, -3.8, 0.40, 0.31, 0.6, 0, 16, 0.50, 1.0, 0.07,
                                              (0.4, 0.1, 0.1, 0.3, 0.1), "N4"),
    "physical_sexual_abuse_single": ClassEffects(0.48, 1200, -2.9, -3.6, 0.35, 0.28, 0.6, 0, 17, 0.48, 1.1, 0.07,
                                                 (0.0, 0.6, 0.35, 0.0, 0.05), "N1"),
    "risks_outside_home": ClassEffects(0.69, 920, -3.2, -2.0, 0.55, 0.39, 1.2, 12, 17.5, 0.66, 2.4, 0.12,
                                       (0.3, 0.2, 0.2, 0.2, 0.1), "N6"),
    "risks_in_and_outside_home": ClassEffects(0.76, 920, -2.0, -2.3, 0.60, 0.39, 1.0, 10, 17.5, 0.56, 1.4, 0.14,
                                              (0.35, 0.1, 0.05, 0.3, 0.2), "N5"),
    "parental_illness_young_carer": ClassEffects(0.60, 1120, -4.0, -4.3, 0.55, 0.31, 0.6, 5, 17.5, 0.50, 1.0, 0.10,
                                                 (0.5, 0, 0, 0.4, 0.1), "N3"),
}
assert tuple(EFFECTS) == CLASS_NAMES

# Pathway logit terms shared by all classes: neglect alongside other factors, the number of factors, age, ethnicity.
CP_NEGLECT = 1.1          # + if neglect (16A) is recorded: DA led to a CP plan mainly when combined with neglect
CP_PER_EXTRA_FACTOR = 0.30  # + per factor beyond the first: complex needs escalate
CP_AGE_13_PLUS = -0.7     # older children less often on CP plans
CARE_AGE_13_PLUS = 0.5    # ... and more often in care
CARE_BLACK = 0.3
CP_BLACK = 0.1
CP_AFTER_PREVIOUS_PLAN = 0.45  # + if the child had a plan before: repeat plans ~20% of plans
S47_WITHOUT_PLAN = 0.22   # P(S47 enquiry | assessed, no CP plan)
NFA_PROB = 0.085          # referrals with no further action (no assessment)
NO_FACTOR_PROB = 0.14     # assessments recording code 21 alone
SECOND_ASSESSMENT_PROB = 0.04
CLASS_PERSISTENCE = 0.55  # P(the class of a re-referral equals the previous class)
# Referral-level return parameters for episodes without a class (NFA or code 21).
UNCLASSED_RETURN = (0.56, 900.0)
# Return probability multipliers after a CP plan / care (repeat involvement is likelier for children with plans).
RETURN_AFTER_CP = 1.08
# Quick returns: P(quick) after a short episode (no plan, no care) and after a longer one, and their mean gap.
QUICK_RETURN_SHARE = (0.42, 0.10)
QUICK_RETURN_MEAN_DAYS = 30.0
REENTRY_MEAN_DAYS = 440.0
CARE_PERIOD_MEDIAN_DAYS = 330.0
CP_PLAN_MEDIAN_DAYS = 270.0
CIN_PLAN_MEDIAN_DAYS = 200.0
STEP_DOWN_CIN_PROB = 0.5

# Education (NPD): Attainment 8 multipliers by the highest level of involvement before the end of KS4.
ATT8_NEVER_MEAN = 49.5
ATT8_LEVEL_MULT = {"never": 1.0, "cin": 0.78, "cpp": 0.62, "cla": 0.42}
ATT8_OPEN_AT_31_MARCH_MULT = 0.62      # still a child in need at 31 March of the KS4 year (DfE's CINO groups)
ATT8_PER_EXTRA_EPISODE_MULT = 0.96     # multiple episodes do worse than one
ATT8_SEN_MULT = {"N": 1.06, "K": 0.68, "E": 0.32}
ATT8_SEN_AND_CSC_MULT = 0.88           # SEN attainment gap wider with CSC involvement
ATT8_SD_SHARE = 0.30
EXCLUSION_PROB = {"never": 0.05, "cin": 0.175, "cpp": 0.225, "cla": 0.20}
EXCLUSION_SEN_MULT_NEVER = {"N": 0.8, "K": 2.4, "E": 1.8}
EXCLUSION_SEN_MULT_CSC = {"N": 0.9, "K": 1.4, "E": 1.2}  # the SEN exclusion gap narrows with CSC involvement
PERMANENT_SHARE = 0.06
SEN_PROBS = {"never": (0.025, 0.11), "csc": (0.07, 0.27)}  # (E, K)
SEN_DISABLED_EXTRA_E = 0.25
KS4_COHORT_NATIONAL = 600_000

# Headline targets the generator is built to produce (targets.json); outcomes stages compare against these.
TARGETS = {
    "rereferral_12m_dfe": 0.225, "km_365": 0.30, "km_2190": 0.58, "repeat_cpp_share": 0.20,
    "reentry_365": 0.20, "reentry_2190": 0.35, "no_factor_share": NO_FACTOR_PROB,
    "factor_groups_per_episode": 2.7, "assessments_national_2015_2021": 4_200_000,
    "assessments_with_factors_national_2015_2021": 3_600_000,
    "att8_all_pupils": 46.5, "att8_ratio_cin_vs_never": 0.75, "att8_ratio_cla_vs_never": 0.40,
    "exclusion_ratio_cin_vs_never": 3.5, "exclusion_ratio_cpp_vs_never": 4.5,
    "class_size_domestic_abuse_single": 0.197, "class_size_parental_mental_health_complex": 0.184,
}


def category_orderings() -> dict[str, list[str]]:
    """Classes ordered (highest first) by their built-in re-referral and CP-plan propensities."""
    by_return = sorted(CLASS_NAMES, key=lambda c: -EFFECTS[c].return_prob)
    by_cp = sorted(CLASS_NAMES, key=lambda c: -EFFECTS[c].cp_logit)
    by_care = sorted(CLASS_NAMES, key=lambda c: -EFFECTS[c].care_logit)
    return {"rereferral": by_return, "cp_plan": by_cp, "care": by_care}

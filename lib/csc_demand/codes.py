"""CIN census and SSDA903 code lists, and the harmonisation of assessment factors into model indicators.

Sources: DfE CIN census guidance (via DOMAIN.md sections 2, 4 and 5). The indicator order below is a public
contract: ``silver.assessments.indicators`` is an array in exactly this order, and saved models refer to it.
"""
from __future__ import annotations

# ---- assessment factors -------------------------------------------------------------------------
FACTOR_LABELS: dict[str, str] = {
    "1A": "Alcohol misuse: child", "1B": "Alcohol misuse: parent/carer", "1C": "Alcohol misuse: other person",
    "2A": "Drug misuse: child", "2B": "Drug misuse: parent/carer", "2C": "Drug misuse: other person",
    "3A": "Domestic abuse: child subject", "3B": "Domestic abuse: parent/carer subject",
    "3C": "Domestic abuse: other person subject",
    "4A": "Mental health: child", "4B": "Mental health: parent/carer", "4C": "Mental health: other person",
    "5A": "Learning disability: child", "5B": "Learning disability: parent/carer",
    "5C": "Learning disability: other person",
    "6A": "Physical disability or illness: child", "6B": "Physical disability or illness: parent/carer",
    "6C": "Physical disability or illness: other person",
    "7A": "Young carer",
    "8B": "Privately fostered: overseas, intending to return", "8C": "Privately fostered: overseas, staying",
    "8D": "Privately fostered: UK, education", "8E": "Privately fostered: UK, parents' circumstances",
    "8F": "Privately fostered: other",
    "9A": "Unaccompanied asylum-seeking child", "10A": "Going or being missing", "11A": "Child sexual exploitation",
    "12A": "Trafficking", "13A": "Gangs", "14A": "Socially unacceptable behaviour", "15A": "Self-harm",
    "16A": "Neglect", "17A": "Emotional abuse",
    "18A": "Physical abuse (unsplit)", "18B": "Physical abuse: child on child", "18C": "Physical abuse: adult on child",
    "19A": "Sexual abuse (unsplit)", "19B": "Sexual abuse: child on child", "19C": "Sexual abuse: adult on child",
    "20": "Other", "21": "No factors identified", "22A": "Female genital mutilation",
    "23A": "Abuse linked to faith or belief", "24A": "Child criminal exploitation",
}
NO_FACTOR_CODE = "21"
ALL_FACTOR_CODES = tuple(FACTOR_LABELS)

# First collection year (ending 31 March) in which a code may appear; absent = every year.
# 18A/19A stay valid in later years (DOMAIN.md section 2).
CODE_FIRST_YEAR: dict[str, int] = {"18B": 2021, "18C": 2021, "19B": 2021, "19C": 2021, "24A": 2022}

# Harmonised model indicators: name -> the raw codes that set it. 21 sets none.
# 24A (criminal exploitation, from 2021-22) joins 13A gangs so that the indicator means the same in every year.
INDICATORS: dict[str, tuple[str, ...]] = {
    "alcohol_child": ("1A",), "alcohol_parent": ("1B",), "alcohol_other": ("1C",),
    "drugs_child": ("2A",), "drugs_parent": ("2B",), "drugs_other": ("2C",),
    "domestic_abuse_child": ("3A",), "domestic_abuse_parent": ("3B",), "domestic_abuse_other": ("3C",),
    "mental_health_child": ("4A",), "mental_health_parent": ("4B",), "mental_health_other": ("4C",),
    "learning_disability_child": ("5A",), "learning_disability_parent": ("5B",),
    "learning_disability_other": ("5C",),
    "physical_disability_child": ("6A",), "physical_disability_parent": ("6B",),
    "physical_disability_other": ("6C",),
    "young_carer": ("7A",),
    "privately_fostered": ("8B", "8C", "8D", "8E", "8F"),
    "unaccompanied_asylum_seeker": ("9A",),
    "going_missing": ("10A",),
    "sexual_exploitation": ("11A",),
    "trafficking": ("12A",),
    "gangs_criminal_exploitation": ("13A", "24A"),
    "socially_unacceptable_behaviour": ("14A",),
    "self_harm": ("15A",),
    "neglect": ("16A",),
    "emotional_abuse": ("17A",),
    "physical_abuse": ("18A", "18B", "18C"),
    "sexual_abuse": ("19A", "19B", "19C"),
    "other": ("20",),
    "female_genital_mutilation": ("22A",),
    "faith_linked_abuse": ("23A",),
}
INDICATOR_NAMES: tuple[str, ...] = tuple(INDICATORS)
CODE_TO_INDICATOR: dict[str, str] = {code: name for name, codes in INDICATORS.items() for code in codes}
assert set(CODE_TO_INDICATOR) | {NO_FACTOR_CODE} == set(ALL_FACTOR_CODES)


def indicator_vector(codes: list[str]) -> list[int]:
    """Raw factor codes -> 0/1 list in INDICATOR_NAMES order (pure Python, for the pyfunc and tests)."""
    present = {CODE_TO_INDICATOR[c.strip().upper()] for c in codes if c and c.strip().upper() in CODE_TO_INDICATOR}
    return [int(name in present) for name in INDICATOR_NAMES]


# ---- child characteristics -------------------------------------------------------------------------
ETHNICITY_GROUP: dict[str, str] = {
    **{c: "White" for c in ("WBRI", "WIRI", "WIRT", "WOTH", "WROM")},
    **{c: "Mixed" for c in ("MWBC", "MWBA", "MWAS", "MOTH")},
    **{c: "Asian" for c in ("AIND", "APKN", "ABAN", "AOTH")},
    **{c: "Black" for c in ("BCRB", "BAFR", "BOTH")},
    "CHNE": "Chinese", "OOTH": "Other", "REFU": "Unknown", "NOBT": "Unknown",
}
DISABILITY_CODES = ("NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA")
# CIN GenderCurrent (to 2023-24) and Sex (from 2024-25); 903 SEX 1/2 then M/F/U. Silver uses M/F/U.
GENDER_TO_SEX = {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"}
REFERRAL_SOURCES = ("1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4",
                    "5A", "5B", "5C", "5D", "6", "7", "8", "9", "10")
PRIMARY_NEED_CODES = tuple(f"N{i}" for i in range(10))
CLOSURE_REASONS = tuple(f"RC{i}" for i in range(1, 10))
ABUSE_CATEGORIES = ("NEG", "PHY", "SAB", "EMO", "MUL")

# ---- SSDA903 ----------------------------------------------------------------------------------------
RNE_CODES = ("S", "L", "P", "T", "B", "U")
REC_CONTINUES = "X1"  # episode ends and the next starts the same day: the period of care goes on
REC_RETURNED_HOME = ("E4A", "E4B")
REC_CODES = ("X1", "E4A", "E4B", "E11", "E12", "E41", "E43", "E44", "E45", "E46", "E47", "E48",
             "E13", "E5", "E6", "E7", "E9", "E14", "E15", "E16", "E17", "E2", "E3", "E8")
# Legal status, category of need and placement type: SSDA903 code sets of every year the DfE validator knows
# (2022-23 on; placements K3 and Z11-Z14 from 2025-26)
LEGAL_STATUS_CODES = ("C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3")
CATEGORY_OF_NEED_CODES = tuple(f"N{i}" for i in range(1, 9))
PLACEMENT_CODES = ("A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
                   "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1", "Z11", "Z12", "Z13", "Z14")
REC_LEFT_CARE = ("E2", "E3", "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", "E11", "E12", "E13", "E14", "E15", "E16",
                 "E17", "E41", "E45", "E46", "E47", "E48")  # every REC but X1 (and the old E43/E44): care ended
REC_DIED_OR_18 = ("E2", "E15")

"""The study briefing's headline figures (shared seed: Hood et al., Kingston University, CSC demand study 2014-21)
and where this run's counterpart comes from, for the national page."""
from __future__ import annotations

# (key, what the briefing says, the briefing's figure as text, the gold table holding this run's figure)
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    ("categories", "Categories of demand found by latent class analysis", "12", "gold.category_profiles"),
    ("dav_share", "Single-factor domestic abuse and violence, share of assessments", "19.7%", "gold.category_trends"),
    ("pmh_share", "Parental mental health with alcohol or drug misuse, share of assessments", "18.4%",
     "gold.category_trends"),
    ("rereferral_12m", "Re-referral within 12 months of closure (Kaplan-Meier)", "30%", "gold.survival_estimates"),
    ("rereferral_6y", "Re-referral within six years of closure (Kaplan-Meier)", "59%", "gold.survival_estimates"),
    ("complexity", "Share of assessments with 3+ factor groups, first to last year (rising complexity)", "rising",
     "gold.complexity_trends"),
    ("child_mh", "Child mental health share of assessments, first to last year", "more than doubled",
     "gold.category_trends"),
    ("ks4_cin", "KS4 Attainment 8 of children in need vs never referred", "25% lower", "gold.education_gaps"),
    ("ks4_care", "KS4 Attainment 8 of children in care vs never referred", "60% lower", "gold.education_gaps"),
    ("exclusion_cin", "Exclusion, children in need vs never referred", "3.5x", "gold.education_gaps"),
    ("exclusion_cp", "Exclusion, children on CP plans vs never referred", "4.5x", "gold.education_gaps"),
    ("sen_gap", "Attainment gap SEN vs no SEN: wider with CSC involvement", "wider", "gold.education_sen_gaps"),
)
DAV_ID, PMH_ID, CHILD_MH_ID = 1, 2, 5  # conf/categories.yml ids

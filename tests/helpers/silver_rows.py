"""Hand-made silver children and referrals (rows in the outcomes contract's column order), shared by the
re-referral tests and the outcomes stage test; the expected values are worked out by hand in test_outcomes_rereferral."""
from datetime import date

D = date.fromisoformat


def child(key, la, born, pupil=None):
    return (key, la, pupil, D(born), "F", "WBRI", "White", False)


def referral(key, child_key, la, referred, closed, year=2021):
    return (key, child_key, la, D(referred), D(closed) if closed else None, "RC1" if closed else None,
            False, "1A", "N1", year)


CHILDREN = [child("c1", "201", "2010-01-01"), child("c2", "201", "2012-02-29"),
            child("c3", "202", "2002-09-10"),  # 18 on 2020-09-10, before the end of the data
            child("c5", "201", "2012-05-05"), child("c8", "201", "2015-01-01")]
REFERRALS = [
    referral("r1", "c1", "201", "2019-01-10", "2019-02-01", 2019),
    referral("r2", "c1", "201", "2020-01-10", "2020-01-10", 2020),   # exactly 12 months on; closed the same day
    referral("r3", "c1", "201", "2021-01-11", None),                 # 12 months + 1 day on; still open
    referral("r4", "c2", "201", "2020-02-29", "2020-03-15", 2020),   # leap day
    referral("r5", "c2", "201", "2021-02-28", "2021-03-01"),         # 29 Feb 2020 + 12 months = 28 Feb 2021
    referral("r6", "c3", "202", "2019-05-01", "2019-06-01", 2019),
    referral("r7", "c3", "202", "2020-10-01", "2020-10-20"),         # after the 18th birthday
    referral("r8", "c5", "201", "2020-02-29", "2020-02-29", 2020),
    referral("r9", "c5", "201", "2021-03-01", None),                 # one day past 28 Feb 2021
    referral("r12", "c8", "201", "2020-04-01", "2020-05-20"),
    referral("r13", "c8", "201", "2020-05-20", "2020-06-30"),        # referred again on the closure day
]

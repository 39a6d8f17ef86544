"""Rule ids used as quarantine reasons (DfE CIN validation rule ids where one exists, ``CSC-*`` otherwise).

Shared by ingestion (which applies them) and the synthetic generator (which injects defects and records the rule
that must catch each one).
"""
from __future__ import annotations

RULES: dict[str, str] = {
    # DfE CIN census validation rules (wording from DfE's rule messages, cin_validator_rule_messages.txt)
    "1103": "The assessment start date cannot be before the referral date",
    "1105": "The child protection plan start date cannot be before the referral date",
    "2889": "The S47 start date cannot be before the referral date",
    "4000": "CIN Plan details provided for a referral with no further action",
    "8520": "Date of Birth is after data collection period (must be on or before the end of the census period)",
    "8606": "Child referral date is more than 40 weeks before DOB or expected DOB",
    "8608": "Assessment Start Date cannot be later than its End Date",
    "8620": "CIN Closure Date present and does not fall within the Census year",
    "8630": "CIN Closure Date is before CIN Referral Date for the same CIN episode",
    "8696": "Assessment end date must fall within the census year",
    "8736": "For an Assessment that has not been completed, the start date must fall within the census year",
    "8500": "LA Child ID missing",
    "8600": "Child referral date missing or after data collection period",
    "8831": "Activity is recorded against a case marked as a referral with no further action",
    "8832": "Child Protection details provided for a referral with no further action",
    "8869": "The assessment factors code 21 cannot be used in conjunction with any other assessment factors",
    "8897Q": "Parental or child factors at assessment information is missing from a completed assessment",
    "8898": "The assessment has more than one parental or child factors with the same code",
    "8940": "Child Protection Plan data contains overlapping dates",
    "1104": "The date of the initial child protection conference cannot be before the referral date",
    "4011": "CIN Plan End Date earlier than Start Date",
    "4015": "The CIN Plan start date cannot be before the referral date",
    "8925": "Child Protection Plan End Date earlier than Start Date",
    "2990": "Activity is recorded against a case marked as 'Case closed after assessment, no further action' or "
            "'case closed after assessment, referred to early help'",
    "4010": "CIN Plan start date is missing or out of data collection period",
    "4013": "CIN Plan end date must fall within the census year",
    "4180": "Gender is missing",
    "8610": "Primary Need code is missing for a referral which led to further action",
    "8614": "Parental or child factors at assessment should only be present for a completed assessment",
    "8615": "Section 47 Enquiry Start Date must be present and cannot be later than the date of the initial Child "
            "Protection Conference",
    "8715": "Date of Initial Child Protection Conference must fall within the census year",
    "8720": "Child Protection Plan Start Date missing or out of data collection period",
    "8730": "Total Number of previous Child Protection Plans missing",
    "8740": "For a Section 47 Enquiry that has not held the Initial Child Protection Conference by the end of the "
            "census year, the start date must fall within the census year",
    "8750": "Gender must equal 0 for an unborn child",
    "8790": "Disability information includes both None and other values",
    "8794": "Child has two or more disabilities with the same code",
    "8805": "A CIN case cannot have a CIN closure date without a Reason for Closure",
    "8810": "A CIN case cannot have a Reason for Closure without a CIN Closure Date",
    "8840": "Child Protection Plan cannot start and end on the same day",
    "8841": "The review date cannot be on the same day or before the Child protection Plan start date",
    "8930": "Child Protection Plan End Date must fall within the census year",
    "4001": "A CIN Plan cannot run concurrently with a Child Protection Plan",
    "4003": "A CPP review date is shown as being held at the same time as an open CIN Plan",
    "4016": "A CIN Plan has been reported as open at the same time as a Child Protection Plan (it starts during one)",
    "4017": "A CIN Plan has been reported as open at the same time as a Child Protection Plan (one starts during it)",
    "8815": "More than one open CIN Details episode (a module with no CIN Closure Date) has been provided for this "
            "child and case is not a referral with no further action",
    "8816": "An open CIN episode is shown and case is not a referral with no further action, but it is not the "
            "latest episode",
    "8820": "The dates on the CIN episodes for this child overlap",
    "8565": "Activity shown after a case has been closed",
    "8867": "CIN episode is shown as closed, however Assessment is not shown as completed",
    "8868": "CIN episode is shown as closed, however Section 47 enquiry is not shown as completed by ICPC date or "
            "ICPC not required flag",
    "4004": "This child is showing more than one open CIN Plan, i.e. with no End Date",
    "4014": "CIN Plan data contains overlapping dates",
    "8839": "Within one CINDetails group there are 2 or more open S47 Assessments",
    "8890": "A Section 47 enquiry is shown as starting when there is another Section 47 Enquiry ongoing",
    "8896": "Within one CINDetails group there are 2 or more open Assessments groups",
    # DfE SSDA903 validation rules (wording from the DfE's 903 validator)
    "142": "A new episode has started, but the previous episode has not ended",
    "143": "The reason for new episode code is not a valid code",
    "149": "Reason episode ceased code is not valid",
    "356": "The date the episode ceased is before the date the same episode started",
    "501": "A new episode has started before the end date of the previous episode",
    "144": "The legal status code is not a valid code",
    "145": "Category of need code is not a valid code",
    "146": "Placement type code is not a valid code",
    "148": "Date episode ceased and reason episode ceased must both be coded, or both left blank",
    "301": "Date of birth falls after the year ended",
    "353": "No episode submitted can start before 14 October 1991",
    "354": "Date episode began must be on or before the end of the current collection year",
    "355": "Episode appears to have lasted for less than 24 hours",
    "385": "Date episode ceased must be on or before the end of the current collection year",
    "302": "First episode starts before child was born",
    "351": "Child was over 25 at the start of the current collection year",
    "352": "Child who started to be looked after was aged 18 or over",
    "386": "Reason episode ceased is adopted but child has reached age 18",
    "407": "Reason episode ceased is Special Guardianship Order, but child has reached age 18",
    "357": "If this is the first episode ever for this child, reason for new episode must be S",
    "431": "The reason for new episode is started to be looked after, but the previous episode ended on the same day",
    "432": "The child ceased to be looked after at the end of the previous episode but the reason for the new "
           "episode is not started to be looked after",
    "437": "Reason episode ceased is child has died or is aged 18 or over but there are further episodes",
    "387": "Reason episode ceased is child moved into independent living arrangement, but the child is aged under 14",
    "388": "Reason episode ceased is coded new episode begins, but there is no continuation episode",
    "389": "Reason episode ceased is that child transferred to care of adult social care services, but child is "
           "aged under 16",
    "433": "The reason for new episode suggests that this is a continuation episode, but the episode does not start "
           "on the same day as the last episode finished",
    "434": "Reason for new episode is that child's legal status has changed but not the placement, but this is not "
           "reflected in the episode data",
    "435": "Reason for new episode is that child's placement has changed but not the legal status, but this is not "
           "reflected in the episode data recorded",
    "436": "Reason for new episode is that both child's placement and legal status have changed, but this is not "
           "reflected in the episode data",
    "460": "Reason episode ceased is that child stayed with current carers at age 18 (or above), but child is aged "
           "under 18",
    # Project rules where DfE has no single id
    "CSC-DATE": "A date is not a valid calendar date in the expected format (YYYY-MM-DD in XML and NPD, "
                "dd/mm/YYYY in SSDA903)",
    "CSC-FACTOR": "Unknown assessment factor code (not in the CIN census code set for any year)",
    "CSC-CODE": "Unknown code value for a coded field (e.g. RNE, REC, ethnicity, reason for closure)",
    "CSC-KEY": "A key field needed to place the record is missing",
    "CSC-FILE": "The file cannot be read at all (empty, not well-formed, truncated or wrong root element)",
    "CSC-RECORD": "The record cannot be split into the expected fields or elements (e.g. a CSV line with the wrong "
                  "number of fields)",
    "CSC-NUMBER": "A numeric field is not a number",
    "CSC-DUP": "Another record in the same file has the same natural key (e.g. two referrals of a child with the "
               "same referral date, two care episodes with the same start date); the first is kept",
}

# ---- Every other DfE rule (csc-validator-be-cin 2022-23, csc-validator-be-903 2022-23) and what we do with it ----
# docs/tables.md's table of DfE rules is generated from these, RULES and the validators' registries
# (tests/test_dfe_validator.py); that test fails on a DfE rule found in none of them.
APPLIED_IN_PART: dict[str, str] = {  # DfE rule -> our rule for its "invalid" half (a missing value loads as null)
    "8640": "CSC-CODE", "8650": "CSC-CODE", "8866": "CSC-CODE", "8905": "CSC-CODE", "8910": "CSC-CODE",
    "4220": "CSC-CODE", "8540": "CSC-CODE", "8568": "CSC-CODE", "101": "CSC-CODE", "103": "CSC-CODE",
    "102": "CSC-DATE", "141": "CSC-DATE", "147": "CSC-DATE"}
LEFT_OUT: dict[str, list[str]] = {  # why -> DfE rules left out for that reason
    "a query (the DfE asks the LA to check the record; not an error): the record loads":
        "1560Q 2886Q 2887Q 2888Q 2991Q 4009Q 4012Q 8525Q 8530Q 8535Q 8545Q 8555Q 8569Q 8585Q 8670Q 8675Q 8770Q "
        "8775Q 8825Q 8842Q 8863Q 8870Q 8873Q 8897Q".split(),
    "identifier format or uniqueness: ids are pseudonymised at ingest and never analysed":
        "1510 1520 1530 1540 1550 8510 8772".split(),
    "Header: whole-file checks cover the Header (LA, year, collection)":
        "100".split(),
    "not a field the analysis reads: PersonDeathDate":
        "4008 8915 8920".split(),
    "not a field the analysis reads: DateOfInitialCPC, past its order with its enquiry and referral (2885: a CP "
    "plan starting on another day than the conference keeps its start)":
        "2884 2885 8875".split(),
    "covered by 8940, which rejects the later of two overlapping CP plans (two open plans overlap; the DfE "
    "validator's 8935 never fires: it counts open plans per plan id)":
        "8935".split(),
    "a count over the whole return (LA level: more CP plans starting than conferences), not a record's check":
        "2883".split(),
    "not a record the analysis reads: a child without CINdetails has no referral to analyse":
        "8590".split(),
    ("not a field the analysis reads: SSDA903 tables other than Header and Episodes (adoption, missing, "
     "OC2, OC3, reviews, previous permanence, UASC), which we do not load"):
        "104 112 113 114 115 116 117 118 119 120 131 132 133 134 151 153 157 158 159 165 166 167 175 176 177 "
        "180 181 182 184 185 186 187 188 189 190 191 192 193 196 198 215 219 221 224 227 228 229 303 304 331 "
        "333 334 335 344 345 391 399 440 441 511 514 517 518 519 520 521 522 523 524 525 542 543 544 545 546 "
        "547 551 552 553 554 555 556 557 558 559 560 561 563 564 565 566 567 570 571 574 575 576 577 578 579 "
        "580 581 582 583 584 586 601 602 628 630 631 632 633 634 635 1000 1001 1002 1003 1004 1005 1006 1007 "
        "1008 1010 1011 1012 1014 197B 197a 205A 205B 205C 205D 3001 INT01 INT02 INT04 INT05 INT06 INT07 INT08 "
        "INT09 INT11 INT12 INT13 INT14 INT15 INT16 INT17 INT18 INT21 INT31 INT33 INT34 INT35 INT36".split(),
    ("compares with the previous year's return: ingest checks each return on its own and keeps the latest "
     "year's copy of an episode"):
        "199 202 203 204 207 208 452 453 502 562 624 626 NoE 503A 503B 503C 503D 503E 503F 503G 503H 503J".split(),
    ("not a field the analysis reads: UPN codes, mother, postcodes, placement provider, URN, reason for "
     "placement change"):
        "105 164 168 169 171 174 178 179 209 210 213 214 218 222 225 226 393 398 406 411 420 442 526 527 528 "
        "529 530 531 550 607 611 612 620 621 625 1009 1015 392a 392b 392c 392d".split(),
    ("not a field the analysis reads: legal status or placement type on their own (read as codes in 144 and 146); "
     "care periods and outcomes read episode dates, RNE and REC"):
        "217 336 358 359 361 362 363 364 365 366 367 370 371 372 373 374 375 376 377 378 379 380 381 382 383 "
        "384 390 408 426 445 446 451 516".split(),
    "not a field the analysis reads: category of need (CIN) of an episode":
        "504".split(),
    ("the DfE portal's own loading checks (a child in Episodes but not Header, twice in Header, no "
     "episodes loaded)"):
        "EPI INT03 INT32".split(),
}
# DfE rules that read fields the analysis uses, not applied yet
NOT_YET: list[str] = []

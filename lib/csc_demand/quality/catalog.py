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
    # DfE SSDA903 validation rules (wording from the DfE's 903 validator)
    "142": "A new episode has started, but the previous episode has not ended",
    "143": "The reason for new episode code is not a valid code",
    "149": "Reason episode ceased code is not valid",
    "356": "The date the episode ceased is before the date the same episode started",
    "501": "A new episode has started before the end date of the previous episode",
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

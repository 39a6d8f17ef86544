"""Ranking agreement with a reference that has sampling error (used by benchmarks/validate_outcomes.py)."""
import pytest
from helpers.ranking import compare_rankings

# A and B are 0.02 apart with standard errors 0.01 each: z = 0.02 / sqrt(2) / 0.01 = 1.414 < 1.96, a tie.
# B and C are 0.30 apart: z = 21.2, clearly ordered.
REFERENCE = {"A": (0.50, 0.01), "B": (0.48, 0.01), "C": (0.18, 0.01)}


def test_a_swap_inside_sampling_error_still_agrees():
    result = compare_rankings({"A": 0.40, "B": 0.45, "C": 0.10, "only_found": 0.9}, REFERENCE)
    assert result["reference_order"] == ["A", "B", "C"]
    assert result["found_order"] == ["B", "A", "C"]
    assert result["exact_match"] is False
    assert result["spearman"] == pytest.approx(0.5)  # rank differences 1, 1, 0: 1 - 6 * 2 / (3 * 8)
    ((swap),) = result["swapped_pairs"]
    assert (swap["higher"], swap["lower"], swap["within_sampling_error"]) == ("A", "B", True)
    assert swap["z"] == pytest.approx(0.02 / (0.01 * 2 ** 0.5))
    assert [(t["higher"], t["lower"]) for t in result["ties_in_reference"]] == [("A", "B")]
    assert result["agrees_within_sampling_error"] is True


def test_a_swap_the_reference_tells_apart_disagrees():
    result = compare_rankings({"A": 0.40, "B": 0.30, "C": 0.35}, REFERENCE)
    assert result["found_order"] == ["A", "C", "B"]
    ((swap),) = result["swapped_pairs"]
    assert (swap["higher"], swap["lower"], swap["within_sampling_error"]) == ("B", "C", False)
    assert result["agrees_within_sampling_error"] is False


def test_identical_order_is_an_exact_match():
    result = compare_rankings({"A": 3.0, "B": 2.0, "C": 1.0}, REFERENCE)
    assert (result["exact_match"], result["spearman"], result["swapped_pairs"]) == (True, 1.0, [])

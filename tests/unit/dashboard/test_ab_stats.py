"""A/B statistics agree with SciPy on generated experiments, and say something defined (never
NaN) at the edges: no exposures, 0% and 100% rates, a lopsided split."""

from __future__ import annotations

import json
import math
import random

import pytest
from pydantic import ValidationError
from scipy import stats as scipy_stats

from lookout_dashboard.analysis.stats import (
    Experiment,
    VariantCounts,
    analyze_experiment,
    chi_square_survival,
    regularized_upper_gamma,
    sample_ratio_check,
    two_proportion_z_test,
)

Z_975 = scipy_stats.norm.ppf(0.975)


def close(expected: float) -> object:
    # Relative 1e-9; the absolute floor only matters where both sides underflow towards 0.
    return pytest.approx(expected, rel=1e-9, abs=1e-290)


def experiment(*counts: tuple[int, int], **options: object) -> Experiment:
    names = ["control", *(f"v{index}" for index in range(1, len(counts)))]
    return Experiment(
        variants=[
            VariantCounts(name=name, exposures=exposures, conversions=conversions)
            for name, (exposures, conversions) in zip(names, counts, strict=True)
        ],
        **options,
    )


def generated_experiments() -> list[Experiment]:
    """Two to six variants, 5 to 500 million exposures; half of them close to the null
    (similar rates, a near-even split) so that p-values spread over (0, 1), not just 0."""
    random_source = random.Random(20260301)
    generated = []
    for case in range(400):
        variant_count = 2 if case < 200 else random_source.randint(3, 6)
        scale = random_source.choice([5, 40, 1_000, 50_000, 2_000_000, 500_000_000])
        near_null = case % 2 == 0
        base_rate = random_source.choice([random_source.random(), random_source.random() / 50])
        counts = []
        for _ in range(variant_count):
            if near_null:
                exposures = max(1, round(scale * random_source.uniform(0.99, 1.01)))
                rate = min(1.0, base_rate * random_source.uniform(0.95, 1.05))
            else:
                exposures = random_source.randint(1, scale)
                rate = random_source.choice([random_source.random(), random_source.random() / 50])
            counts.append((exposures, round(exposures * rate)))
        weights = None
        if case % 3 == 0:
            weights = {
                name: random_source.uniform(0.1, 5)
                for name in ["control", *(f"v{i}" for i in range(1, variant_count))]
            }
        generated.append(experiment(*counts, weights=weights))
    return generated


def test_comparisons_match_scipy_on_generated_experiments() -> None:
    checked = 0
    for case in generated_experiments():
        result = analyze_experiment(case)
        control = case.variants[0]
        for counts, variant in zip(case.variants[1:], result.variants[1:], strict=True):
            comparison = variant.versus_control
            assert comparison is not None
            control_rate = control.conversions / control.exposures
            rate = counts.conversions / counts.exposures
            pooled = (control.conversions + counts.conversions) / (
                control.exposures + counts.exposures
            )
            if pooled in (0.0, 1.0):
                continue
            pooled_error = math.sqrt(
                pooled * (1 - pooled) * (1 / control.exposures + 1 / counts.exposures)
            )
            z_score = (rate - control_rate) / pooled_error
            assert comparison.z_score == close(z_score)
            assert comparison.p_value == close(2 * scipy_stats.norm.sf(abs(z_score)))
            # The pooled z-test is Pearson's chi-square on the 2x2 table without correction.
            table = [
                [control.conversions, control.exposures - control.conversions],
                [counts.conversions, counts.exposures - counts.conversions],
            ]
            contingency = scipy_stats.chi2_contingency(table, correction=False)
            assert comparison.p_value == close(contingency.pvalue)
            assert comparison.significant is (comparison.p_value < 0.05)

            unpooled_error = math.sqrt(
                control_rate * (1 - control_rate) / control.exposures
                + rate * (1 - rate) / counts.exposures
            )
            if unpooled_error > 0:
                interval = comparison.confidence_interval
                assert interval is not None
                margin = Z_975 * unpooled_error
                assert interval.low == pytest.approx(rate - control_rate - margin, abs=1e-12)
                assert interval.high == pytest.approx(rate - control_rate + margin, abs=1e-12)
            checked += 1
    assert checked > 700


def test_sample_ratio_check_matches_scipy_chisquare_on_generated_experiments() -> None:
    for case in generated_experiments():
        check = analyze_experiment(case).sample_ratio
        observed = [variant.exposures for variant in case.variants]
        if case.weights is None:
            shares = [1 / len(observed)] * len(observed)
        else:
            total_weight = sum(case.weights.values())
            shares = [case.weights[variant.name] / total_weight for variant in case.variants]
        expected = [sum(observed) * share for share in shares]
        reference = scipy_stats.chisquare(observed, f_exp=expected)
        assert check.degrees_of_freedom == len(observed) - 1
        assert check.chi_square == pytest.approx(reference.statistic, rel=1e-9)
        assert check.p_value == close(reference.pvalue)
        assert check.srm_warning is bool(reference.pvalue < 0.001)


def test_chi_square_survival_matches_scipy_over_degrees_and_statistics() -> None:
    random_source = random.Random(7)
    for degrees in [*range(1, 41), 60, 99, 250, 1000]:
        statistics = [0.0, 1e-8, 0.5, degrees - 0.5, degrees + 2.0, 3.0 * degrees + 10]
        statistics += [random_source.uniform(0, 4 * degrees + 40) for _ in range(40)]
        for statistic in statistics:
            reference = scipy_stats.chi2.sf(statistic, degrees)
            assert chi_square_survival(statistic, degrees) == close(reference), (
                degrees,
                statistic,
            )


def test_regularized_upper_gamma_closed_forms() -> None:
    for x in [0.001, 0.3, 1.0, 2.5, 7.0, 30.0, 300.0]:
        assert regularized_upper_gamma(1.0, x) == close(math.exp(-x))
        assert regularized_upper_gamma(0.5, x) == close(math.erfc(math.sqrt(x)))
        assert regularized_upper_gamma(2.0, x) == close((1 + x) * math.exp(-x))
    assert regularized_upper_gamma(3.0, 0.0) == 1.0
    assert regularized_upper_gamma(3.0, math.inf) == 0.0
    assert regularized_upper_gamma(0.5, 2000.0) == 0.0
    with pytest.raises(ValueError, match="a > 0"):
        regularized_upper_gamma(0.0, 1.0)


def test_ten_versus_eleven_percent_on_ten_thousand_each_is_significant() -> None:
    result = analyze_experiment(experiment((10_000, 1_000), (10_000, 1_100)))
    control, treatment = result.variants
    assert control.conversion_rate == 0.1
    assert control.versus_control is None
    comparison = treatment.versus_control
    assert treatment.conversion_rate == pytest.approx(0.11)
    assert comparison.absolute_uplift == pytest.approx(0.01)
    assert comparison.relative_uplift == pytest.approx(0.1)
    assert comparison.z_score == pytest.approx(2.3066347738, rel=1e-9)
    assert comparison.p_value == pytest.approx(0.0210751893, rel=1e-8)
    assert comparison.significant is True
    assert comparison.confidence_interval.low == pytest.approx(0.00150405913, rel=1e-8)
    assert comparison.confidence_interval.high == pytest.approx(0.01849594087, rel=1e-9)
    assert result.sample_ratio.chi_square == 0.0
    assert result.sample_ratio.p_value == 1.0
    assert result.sample_ratio.srm_warning is False


def test_small_difference_is_not_significant() -> None:
    comparison = analyze_experiment(experiment((200, 20), (200, 24))).variants[1].versus_control
    assert comparison.p_value == pytest.approx(0.52269103, rel=1e-8)
    assert comparison.significant is False


def test_variant_named_control_is_the_control_wherever_it_is() -> None:
    case = Experiment(
        variants=[
            VariantCounts(name="blue", exposures=100, conversions=30),
            VariantCounts(name="control", exposures=100, conversions=20),
        ]
    )
    result = analyze_experiment(case)
    assert result.control == "control"
    assert result.variants[1].versus_control is None
    assert result.variants[0].versus_control.absolute_uplift == pytest.approx(0.1)
    assert result.variants[0].versus_control.relative_uplift == pytest.approx(0.5)


def test_without_a_control_name_the_first_variant_is_the_control() -> None:
    case = Experiment(
        variants=[
            VariantCounts(name="a", exposures=100, conversions=30),
            VariantCounts(name="b", exposures=100, conversions=20),
        ]
    )
    assert analyze_experiment(case).control == "a"
    assert analyze_experiment(case.model_copy(update={"control": "b"})).control == "b"


def test_both_rates_zero_gives_p_value_one_and_no_interval() -> None:
    comparison = analyze_experiment(experiment((500, 0), (400, 0))).variants[1].versus_control
    assert comparison.absolute_uplift == 0.0
    assert comparison.relative_uplift is None
    assert comparison.z_score == 0.0
    assert comparison.p_value == 1.0
    assert comparison.significant is False
    assert comparison.confidence_interval is None


def test_both_rates_full_gives_p_value_one_and_no_interval() -> None:
    comparison = analyze_experiment(experiment((50, 50), (70, 70))).variants[1].versus_control
    assert comparison.absolute_uplift == 0.0
    assert comparison.relative_uplift == 0.0
    assert comparison.p_value == 1.0
    assert comparison.confidence_interval is None


def test_zero_versus_full_rate_tests_but_has_no_wald_interval() -> None:
    comparison = analyze_experiment(experiment((10, 0), (10, 10))).variants[1].versus_control
    assert comparison.absolute_uplift == 1.0
    assert comparison.relative_uplift is None
    assert comparison.z_score == pytest.approx(math.sqrt(20), rel=1e-12)
    assert comparison.p_value == pytest.approx(7.744216431e-6, rel=1e-9)
    assert comparison.significant is True
    assert comparison.confidence_interval is None


def test_variant_without_exposures_has_no_rate_and_no_comparison() -> None:
    result = analyze_experiment(experiment((1_000, 100), (0, 0), (1_000, 120)))
    empty = result.variants[1]
    assert empty.conversion_rate is None
    assert empty.versus_control.absolute_uplift is None
    assert empty.versus_control.p_value is None
    assert empty.versus_control.confidence_interval is None
    assert empty.versus_control.significant is False
    # The missing exposures are themselves a sample-ratio mismatch.
    assert result.sample_ratio.chi_square == pytest.approx(1_000.0)
    assert result.sample_ratio.srm_warning is True


def test_control_without_exposures_compares_nothing() -> None:
    result = analyze_experiment(experiment((0, 0), (100, 5)))
    assert result.variants[1].versus_control.p_value is None
    assert result.variants[1].conversion_rate == 0.05


def test_no_exposures_at_all_has_no_sample_ratio_verdict() -> None:
    result = analyze_experiment(experiment((0, 0), (0, 0), (0, 0)))
    assert result.sample_ratio.chi_square is None
    assert result.sample_ratio.p_value is None
    assert result.sample_ratio.degrees_of_freedom == 2
    assert result.sample_ratio.srm_warning is False


def test_five_percent_skew_on_twenty_thousand_is_a_sample_ratio_mismatch() -> None:
    check = sample_ratio_check([10_000, 10_500], [0.5, 0.5])
    assert check.chi_square == pytest.approx(500 / 41, rel=1e-12)
    assert check.p_value == pytest.approx(4.79146435e-4, rel=1e-8)
    assert check.srm_warning is True
    assert sample_ratio_check([10_000, 10_100], [0.5, 0.5]).srm_warning is False


def test_unequal_weights_set_the_expected_split() -> None:
    result = analyze_experiment(
        experiment((9_000, 90), (1_000, 10), weights={"control": 9, "v1": 1})
    )
    assert [variant.expected_share for variant in result.variants] == [0.9, 0.1]
    assert result.sample_ratio.chi_square == 0.0
    assert result.sample_ratio.p_value == 1.0
    equal = analyze_experiment(experiment((9_000, 90), (1_000, 10)))
    assert equal.sample_ratio.chi_square == pytest.approx(6_400.0)
    assert equal.sample_ratio.p_value == 0.0
    assert equal.sample_ratio.srm_warning is True


def test_sample_ratio_check_refuses_a_zero_share() -> None:
    with pytest.raises(ValueError, match="share"):
        sample_ratio_check([10, 10], [1.0, 0.0])


def test_z_test_refuses_an_empty_side() -> None:
    with pytest.raises(ValueError, match="exposures on both sides"):
        two_proportion_z_test(0, 0, 1, 10)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"variants": [{"name": "a", "exposures": 5, "conversions": 6}, {"name": "b"}]},
            "conversions",
        ),
        (
            {
                "variants": [
                    {"name": "a", "exposures": 5, "conversions": 1},
                    {"name": "a", "exposures": 5, "conversions": 1},
                ]
            },
            "unique",
        ),
        (
            {
                "variants": [
                    {"name": "a", "exposures": 5, "conversions": 1},
                    {"name": "b", "exposures": 5, "conversions": 1},
                ],
                "control": "c",
            },
            "control",
        ),
        (
            {
                "variants": [
                    {"name": "a", "exposures": 5, "conversions": 1},
                    {"name": "b", "exposures": 5, "conversions": 1},
                ],
                "weights": {"a": 1},
            },
            "weights",
        ),
        ({"variants": [{"name": "a", "exposures": 5, "conversions": 1}]}, "at least 2"),
        (
            {
                "variants": [
                    {"name": "a", "exposures": 5, "conversions": 1},
                    {"name": "b", "exposures": 5, "conversions": 1},
                ],
                "weights": {"a": 1, "b": 0},
            },
            r"weights\.b\n  Input should be greater than or equal to 0\.000001",
        ),
        (
            {
                "variants": [
                    {"name": "a", "exposures": -1, "conversions": 0},
                    {"name": "b", "exposures": 5, "conversions": 1},
                ]
            },
            "greater than or equal to 0",
        ),
    ],
)
def test_invalid_experiments_are_refused_with_the_field_named(payload: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Experiment.model_validate(payload)


def test_answer_is_camel_case_json_without_nan() -> None:
    result = analyze_experiment(experiment((0, 0), (10, 0), (10, 10)))
    text = result.model_dump_json(by_alias=True)
    assert "NaN" not in text
    assert "Infinity" not in text
    answer = json.loads(text)
    assert set(answer) == {"control", "variants", "sampleRatio"}
    assert set(answer["sampleRatio"]) == {"chiSquare", "degreesOfFreedom", "pValue", "srmWarning"}
    assert answer["variants"][2]["versusControl"]["relativeUplift"] is None
    assert answer["variants"][2]["conversionRate"] == 1.0

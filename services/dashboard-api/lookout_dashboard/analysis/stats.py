"""A/B test statistics from exposure and conversion counts: each variant against the control
(uplift, 95% Wald interval, pooled two-proportion z-test) and a sample-ratio-mismatch check
(Pearson chi-square goodness of fit). Standard library only.

Rates, uplifts and interval bounds are fractions (0.25 means 25%). A value that is undefined
for the data (a rate without exposures, a relative uplift over a 0% control) is None, so the
JSON answer never holds NaN or infinity.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Self

from pydantic import Field, model_validator

from lookout_common.contracts.models import Camel

ALPHA = 0.05
# A split this unlikely under the configured weights means the assignment or the exposure
# logging is broken, not that the variants differ: 0.001 is the usual bar for sample-ratio
# mismatch, stricter than ALPHA because the check runs on every experiment all the time.
SRM_ALPHA = 0.001
CONTROL_NAME = "control"

_Z_CONFIDENCE = NormalDist().inv_cdf(1 - ALPHA / 2)
_GAMMA_EPSILON = 1e-15
_GAMMA_MAX_ITERATIONS = 100_000
_TINY = 1e-300


# Counts up to 2^53 stay exact as floats; weights within a 10^12 ratio keep every expected
# count positive and every chi-square term finite.
Count = Annotated[int, Field(ge=0, le=2**53)]
VariantName = Annotated[str, Field(min_length=1, max_length=100)]
Weight = Annotated[float, Field(ge=1e-6, le=1e6)]


class VariantCounts(Camel):
    name: VariantName
    exposures: Count = Field(description="Distinct people exposed to the variant")
    conversions: Count = Field(description="Of those, people who did the goal after exposure")

    @model_validator(mode="after")
    def _conversions_within_exposures(self) -> Self:
        if self.conversions > self.exposures:
            raise ValueError(
                f"variant {self.name!r}: conversions ({self.conversions}) "
                f"exceed exposures ({self.exposures})"
            )
        return self


class Experiment(Camel):
    variants: list[VariantCounts] = Field(min_length=2, max_length=20)
    control: VariantName | None = Field(
        default=None,
        description='The control variant (default: the one named "control", else the first)',
    )
    weights: dict[str, Weight] | None = Field(
        default=None,
        description="Intended traffic split by variant name, any positive scale (default: equal)",
    )

    @model_validator(mode="after")
    def _names_agree(self) -> Self:
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variants: names must be unique")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control: {self.control!r} is not one of the variants")
        if self.weights is not None and set(self.weights) != set(names):
            raise ValueError("weights: give exactly one weight per variant name")
        return self

    def control_name(self) -> str:
        if self.control is not None:
            return self.control
        names = [variant.name for variant in self.variants]
        return CONTROL_NAME if CONTROL_NAME in names else names[0]


class ConfidenceInterval(Camel):
    low: float
    high: float


class Comparison(Camel):
    absolute_uplift: float | None = Field(description="rate - control rate")
    relative_uplift: float | None = Field(
        description="(rate - control rate) / control rate; None when the control rate is 0"
    )
    confidence_interval: ConfidenceInterval | None = Field(
        description="95% Wald interval of the absolute uplift (unpooled standard error); "
        "None when that standard error is 0"
    )
    z_score: float | None = Field(description="Two-proportion z statistic, pooled standard error")
    p_value: float | None = Field(description="Two-sided; 1.0 when both rates are 0% or 100%")
    significant: bool = Field(description="p_value < 0.05")


class VariantResult(Camel):
    name: str
    exposures: int
    conversions: int
    conversion_rate: float | None = Field(description="conversions / exposures; None without any")
    expected_share: float = Field(description="Share of exposures the split intends")
    versus_control: Comparison | None = Field(description="None for the control itself")


class SampleRatioCheck(Camel):
    chi_square: float | None = Field(description="Pearson statistic; None without exposures")
    degrees_of_freedom: int
    p_value: float | None
    srm_warning: bool = Field(description="p_value < 0.001: the split is not the intended one")


class ExperimentResult(Camel):
    control: str
    variants: list[VariantResult]
    sample_ratio: SampleRatioCheck


def analyze_experiment(experiment: Experiment) -> ExperimentResult:
    """Every variant's rate and its comparison with the control, and the sample-ratio check."""
    control_name = experiment.control_name()
    control = next(v for v in experiment.variants if v.name == control_name)
    shares = _shares(experiment)
    variants = [
        VariantResult(
            name=variant.name,
            exposures=variant.exposures,
            conversions=variant.conversions,
            conversion_rate=_rate(variant),
            expected_share=share,
            versus_control=None if variant is control else compare(control, variant),
        )
        for variant, share in zip(experiment.variants, shares, strict=True)
    ]
    return ExperimentResult(
        control=control_name,
        variants=variants,
        sample_ratio=sample_ratio_check([v.exposures for v in experiment.variants], shares),
    )


def compare(control: VariantCounts, variant: VariantCounts) -> Comparison:
    """Uplift of `variant` over `control`, its 95% Wald interval and the pooled z-test."""
    control_rate, rate = _rate(control), _rate(variant)
    if control_rate is None or rate is None:
        return Comparison(
            absolute_uplift=None,
            relative_uplift=None,
            confidence_interval=None,
            z_score=None,
            p_value=None,
            significant=False,
        )
    difference = rate - control_rate
    unpooled = math.sqrt(
        control_rate * (1 - control_rate) / control.exposures
        + rate * (1 - rate) / variant.exposures
    )
    interval = None
    if unpooled > 0:
        margin = _Z_CONFIDENCE * unpooled
        interval = ConfidenceInterval(low=difference - margin, high=difference + margin)
    z_score, p_value = two_proportion_z_test(
        control.conversions, control.exposures, variant.conversions, variant.exposures
    )
    return Comparison(
        absolute_uplift=difference,
        relative_uplift=difference / control_rate if control_rate > 0 else None,
        confidence_interval=interval,
        z_score=z_score,
        p_value=p_value,
        significant=p_value < ALPHA,
    )


def two_proportion_z_test(
    conversions_a: int, exposures_a: int, conversions_b: int, exposures_b: int
) -> tuple[float, float]:
    """(z, two-sided p) for rate b - rate a with the pooled standard error.

    Both exposures must be positive. When the pooled rate is 0 or 1 both rates are equal and
    the standard error is 0: the observed difference is then exactly 0, so z = 0 and p = 1.
    """
    if exposures_a <= 0 or exposures_b <= 0:
        raise ValueError("a z-test needs exposures on both sides")
    pooled = (conversions_a + conversions_b) / (exposures_a + exposures_b)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / exposures_a + 1 / exposures_b))
    if standard_error == 0:
        return 0.0, 1.0
    z_score = (conversions_b / exposures_b - conversions_a / exposures_a) / standard_error
    return z_score, math.erfc(abs(z_score) / math.sqrt(2))


def sample_ratio_check(exposures: list[int], shares: list[float]) -> SampleRatioCheck:
    """Pearson chi-square of the exposure counts against the intended shares (summing to 1)."""
    degrees = len(exposures) - 1
    total = sum(exposures)
    if total == 0 or degrees < 1:
        return SampleRatioCheck(
            chi_square=None, degrees_of_freedom=degrees, p_value=None, srm_warning=False
        )
    statistic = 0.0
    for observed, share in zip(exposures, shares, strict=True):
        expected = total * share
        if expected <= 0:
            raise ValueError("every intended share must be positive")
        statistic += (observed - expected) ** 2 / expected
    p_value = chi_square_survival(statistic, degrees)
    return SampleRatioCheck(
        chi_square=statistic,
        degrees_of_freedom=degrees,
        p_value=p_value,
        srm_warning=p_value < SRM_ALPHA,
    )


def chi_square_survival(statistic: float, degrees_of_freedom: int) -> float:
    """P(X >= statistic) for X chi-square distributed with the given degrees of freedom."""
    if degrees_of_freedom < 1:
        raise ValueError("degrees of freedom must be at least 1")
    return regularized_upper_gamma(degrees_of_freedom / 2, max(statistic, 0.0) / 2)


def regularized_upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a) for a > 0, x >= 0, to better than 1e-10 relative."""
    if a <= 0 or x < 0 or math.isnan(x):
        raise ValueError("regularized_upper_gamma needs a > 0 and x >= 0")
    if x == 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    # e^-x x^a / Γ(a): the factor both expansions share, in logs to stay in range.
    log_front = a * math.log(x) - x - math.lgamma(a)
    # The series for P converges fast below a + 1 (where Q is not small, so 1 - P keeps its
    # precision); the continued fraction for Q converges fast above it.
    if x < a + 1:
        return 1.0 - math.exp(log_front) * _lower_series(a, x)
    return math.exp(log_front) * _upper_continued_fraction(a, x)


def _lower_series(a: float, x: float) -> float:
    """Σ x^n / (a (a+1) … (a+n)), so that P(a, x) = e^-x x^a / Γ(a) times this sum."""
    term = 1 / a
    total = term
    denominator = a
    for _ in range(_GAMMA_MAX_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _GAMMA_EPSILON:
            return total
    raise ArithmeticError(f"incomplete gamma series did not converge for a={a}, x={x}")


def _upper_continued_fraction(a: float, x: float) -> float:
    """1 / (x+1-a - 1(1-a) / (x+3-a - 2(2-a) / (x+5-a - …))), by the modified Lentz method."""
    b = x + 1 - a
    numerator_ratio = 1 / _TINY
    denominator_ratio = 1 / b
    value = denominator_ratio
    for n in range(1, _GAMMA_MAX_ITERATIONS):
        partial = -n * (n - a)
        b += 2
        denominator_ratio = b + partial * denominator_ratio
        if abs(denominator_ratio) < _TINY:
            denominator_ratio = _TINY
        numerator_ratio = b + partial / numerator_ratio
        if abs(numerator_ratio) < _TINY:
            numerator_ratio = _TINY
        denominator_ratio = 1 / denominator_ratio
        step = denominator_ratio * numerator_ratio
        value *= step
        if abs(step - 1) < _GAMMA_EPSILON:
            return value
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={a}, x={x}")


def _rate(variant: VariantCounts) -> float | None:
    return variant.conversions / variant.exposures if variant.exposures else None


def _shares(experiment: Experiment) -> list[float]:
    if experiment.weights is None:
        return [1 / len(experiment.variants)] * len(experiment.variants)
    total = sum(experiment.weights.values())
    return [experiment.weights[variant.name] / total for variant in experiment.variants]

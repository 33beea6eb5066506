"""Pure computation behind the answers: percentiles from log-spaced histograms, rates, and
A/B test statistics."""

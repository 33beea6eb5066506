"""How the analytics answers state one count against another: rounded to two places, and
0 rather than undefined when there is nothing to divide by."""

from __future__ import annotations


def ratio(part: float, whole: float) -> float:
    """part / whole, rounded to two decimal places; 0.0 when whole is 0."""
    return round(part / whole, 2) if whole else 0.0


def percent(part: float, whole: float) -> float:
    """part as a percentage of whole, rounded to two decimal places; 0.0 when whole is 0."""
    return ratio(100 * part, whole)

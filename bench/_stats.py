"""Summaries shared by the benchmark scripts."""

from __future__ import annotations

import statistics


def micros(samples: list[float]) -> dict[str, float]:
    """Median and 95th percentile of durations in seconds, in microseconds."""
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6, 1),
        "p95_us": round(ordered[int(len(ordered) * 0.95) - 1] * 1e6, 1),
    }

"""Measured seconds, kept apart from results.

A rerun reproduces every result bit for bit, but never the seconds it took; so the
stages write timings to their own files (`data/timings/`, `metrics/*timings.json`)
and the results stay byte-identical across reruns.
"""

TIMING_KEYS = ("seconds_per_arch", "images_per_second")


def split_timings(report: dict) -> dict:
    """Remove the timing keys from `report` ({group: {method: metrics}} or {method: metrics})
    in place; return them in the same shape."""
    timings = {}
    for name, entry in report.items():
        if not isinstance(entry, dict):
            continue
        found = {key: entry.pop(key) for key in TIMING_KEYS if key in entry}
        nested = split_timings(entry) if not found else {}
        if found or nested:
            timings[name] = found or nested
    return timings


def merge_timings(report: dict, timings: dict) -> dict:
    """`report` with `timings` (as `split_timings` returned them) put back, for display."""
    merged = dict(report)
    for name, entry in timings.items():
        if isinstance(merged.get(name), dict):
            merged[name] = merge_timings(merged[name], entry) if not set(entry) <= set(TIMING_KEYS) \
                else {**merged[name], **entry}
    return merged

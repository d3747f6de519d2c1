"""The one place a dose becomes plain words; the API, the clinician UI and the PDF all use it."""

from __future__ import annotations

from plans.model import Dose


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _time(seconds: int) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return _count(seconds // 60, "minute", "minutes")
    return _count(seconds, "second", "seconds")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _how_often(dose: Dose) -> str:
    parts = []
    if dose.times_per_day:
        parts.append(f"{_times(dose.times_per_day)} a day")
    if dose.days_per_week:
        parts.append(
            "every day" if dose.days_per_week == 7
            else _count(dose.days_per_week, "day a week", "days a week")
        )
    return ", ".join(parts)


def _repeats(dose: Dose) -> str:
    """The "how many" sentence without side or frequency: repeats, rounds of them, or rounds."""
    if dose.reps:
        # A repeat of a hold is "a hold"; of a movement, "a slow repeat".
        unit = ("hold", "holds") if dose.hold_seconds else ("slow repeat", "slow repeats")
        if dose.sets and dose.sets > 1:
            return f"Do {dose.sets} rounds of {_count(dose.reps, *unit)}"
        if dose.hold_seconds:
            return f"Do it {_times(dose.reps)}"
        return f"Do {_count(dose.reps, *unit)}"
    if dose.sets:
        return f"Do {_count(dose.sets, 'round', 'rounds')}"
    return ""


def dose_text(dose: Dose) -> str:
    """Plain words for a dose, e.g. "Hold for 30 seconds. Do it 3 times on each side, once a
    day, 5 days a week." Fields left as None are not mentioned. "On each side" is said once:
    with a time to keep going, else with the count, else with the hold. Raises nothing."""
    side = " on each side" if dose.each_side else ""
    sentences: list[str] = []
    if dose.hold_seconds:
        sentences.append(f"Hold for {_time(dose.hold_seconds)}")
    elif dose.duration_seconds:
        sentences.append(f"Keep going for {_time(dose.duration_seconds)}{side}")
        side = ""  # said
    reps = _repeats(dose)
    if reps:
        reps += side
    elif sentences:
        # A hold with nothing to count: the side belongs to the hold, not to the total time.
        sentences[0] += side
    elif side:
        sentences.append(f"Do it{side}")
    if dose.hold_seconds and dose.duration_seconds:
        sentences.append(f"Keep this up for {_time(dose.duration_seconds)} in all")
    often = _how_often(dose)
    if reps:
        sentences.append(f"{reps}, {often}" if often else reps)
        if dose.sets and dose.sets > 1:
            sentences.append("Rest a little between rounds")
    elif often:
        sentences.append(f"Do this {often}")
    return " ".join(s + "." for s in sentences)

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


def dose_text(dose: Dose) -> str:
    """Plain words for a dose, e.g. "Hold for 30 seconds. Do it 3 times on each side, once a
    day, 5 days a week." Fields left as None are not mentioned. Raises nothing."""
    side = " on each side" if dose.each_side else ""
    sentences: list[str] = []
    side_said = False
    if dose.hold_seconds:
        sentences.append(f"Hold for {_time(dose.hold_seconds)}")
    elif dose.duration_seconds:
        sentences.append(f"Keep going for {_time(dose.duration_seconds)}{side}")
        side_said = True
    reps = ""
    if dose.reps:
        reps = f"Do it {_times(dose.reps)}" if dose.hold_seconds else (
            f"Do {_count(dose.reps, 'slow repeat', 'slow repeats')}"
        )
        if dose.sets and dose.sets > 1:
            reps = f"Do {dose.sets} rounds of {dose.reps}" + (
                "" if dose.hold_seconds else " slow repeats"
            )
        if not side_said:
            reps += side
            side_said = True
    elif dose.sets:
        reps = f"Do {_count(dose.sets, 'round', 'rounds')}"
    if dose.hold_seconds and dose.duration_seconds:
        sentences.append(f"Keep this up for {_time(dose.duration_seconds)} in all")
    often = _how_often(dose)
    if reps:
        if side and not side_said:
            reps += side
        sentences.append(f"{reps}, {often}" if often else reps)
        if dose.sets and dose.sets > 1:
            sentences.append("Rest a little between rounds")
    else:
        if side and not side_said:
            sentences[-1:] = [sentences[-1] + side] if sentences else [f"Do it{side}"]
        if often:
            sentences.append(f"Do this {often}")
    return " ".join(s + "." for s in sentences)

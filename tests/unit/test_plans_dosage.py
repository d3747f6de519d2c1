"""dose_text: the one function that turns a dose into words the patient reads.

Every branch is pinned to its exact words, including doses no shipped template uses yet (holds
done in rounds, rounds without a repeat count, a hold with a total time, one second): the first
template that uses one must not bring untested patient instructions with it.
"""

from __future__ import annotations

import pytest

from plans.dosage import dose_text
from plans.model import Dose

EXACT = [
    # What today's templates use.
    (Dose(reps=3, hold_seconds=30, each_side=True, times_per_day=1, days_per_week=5),
     "Hold for 30 seconds. Do it 3 times on each side, once a day, 5 days a week."),
    (Dose(duration_seconds=60, each_side=True, times_per_day=1, days_per_week=5),
     "Keep going for 1 minute on each side. Do this once a day, 5 days a week."),
    (Dose(duration_seconds=90, times_per_day=2, days_per_week=7),
     "Keep going for 90 seconds. Do this twice a day, every day."),
    (Dose(sets=1, reps=8, times_per_day=1, days_per_week=5),
     "Do 8 slow repeats, once a day, 5 days a week."),
    (Dose(sets=2, reps=6, each_side=True, days_per_week=3),
     "Do 2 rounds of 6 slow repeats on each side, 3 days a week. Rest a little between rounds."),
    (Dose(duration_seconds=300, times_per_day=3, days_per_week=1),
     "Keep going for 5 minutes. Do this 3 times a day, 1 day a week."),
    (Dose(hold_seconds=20, each_side=True), "Hold for 20 seconds on each side."),
    (Dose(), ""),
    # Times: one second, seconds, exactly one minute, whole minutes, minutes plus seconds.
    (Dose(hold_seconds=1), "Hold for 1 second."),
    (Dose(hold_seconds=59), "Hold for 59 seconds."),
    (Dose(hold_seconds=60), "Hold for 1 minute."),
    (Dose(hold_seconds=120), "Hold for 2 minutes."),
    (Dose(duration_seconds=61), "Keep going for 61 seconds."),
    (Dose(duration_seconds=1), "Keep going for 1 second."),
    # Repeats of a hold: once, twice, n times.
    (Dose(hold_seconds=10, reps=1), "Hold for 10 seconds. Do it once."),
    (Dose(hold_seconds=10, reps=2), "Hold for 10 seconds. Do it twice."),
    (Dose(hold_seconds=10, reps=4, each_side=True),
     "Hold for 10 seconds. Do it 4 times on each side."),
    # Repeats of a movement: one, many; one set is no rounds.
    (Dose(reps=1), "Do 1 slow repeat."),
    (Dose(reps=12, each_side=True), "Do 12 slow repeats on each side."),
    (Dose(sets=1, reps=1, each_side=True, times_per_day=2),
     "Do 1 slow repeat on each side, twice a day."),
    # Holds done in rounds.
    (Dose(sets=3, reps=5, hold_seconds=10, times_per_day=1),
     "Hold for 10 seconds. Do 3 rounds of 5 holds, once a day. Rest a little between rounds."),
    (Dose(sets=2, reps=1, hold_seconds=10, each_side=True),
     "Hold for 10 seconds. Do 2 rounds of 1 hold on each side. Rest a little between rounds."),
    # Rounds of slow repeats, one repeat a round.
    (Dose(sets=3, reps=1), "Do 3 rounds of 1 slow repeat. Rest a little between rounds."),
    # Rounds without a repeat count.
    (Dose(sets=1), "Do 1 round."),
    (Dose(sets=3, days_per_week=2), "Do 3 rounds, 2 days a week. Rest a little between rounds."),
    (Dose(sets=2, hold_seconds=30, each_side=True),
     "Hold for 30 seconds. Do 2 rounds on each side. Rest a little between rounds."),
    (Dose(sets=2, duration_seconds=60, each_side=True, times_per_day=1),
     "Keep going for 1 minute on each side. Do 2 rounds, once a day. "
     "Rest a little between rounds."),
    # A hold with a total time: the side goes with the hold, never with the total.
    (Dose(hold_seconds=30, duration_seconds=300),
     "Hold for 30 seconds. Keep this up for 5 minutes in all."),
    (Dose(hold_seconds=30, duration_seconds=90, each_side=True, days_per_week=7),
     "Hold for 30 seconds on each side. Keep this up for 90 seconds in all. Do this every day."),
    (Dose(hold_seconds=5, duration_seconds=60, reps=3, each_side=True, times_per_day=3),
     "Hold for 5 seconds. Keep this up for 1 minute in all. Do it 3 times on each side, "
     "3 times a day."),
    # Movement repeats after a time: the side is said once, on the time.
    (Dose(duration_seconds=30, reps=10, each_side=True),
     "Keep going for 30 seconds on each side. Do 10 slow repeats."),
    (Dose(duration_seconds=30, sets=2, reps=10, each_side=True, times_per_day=1),
     "Keep going for 30 seconds on each side. Do 2 rounds of 10 slow repeats, once a day. "
     "Rest a little between rounds."),
    # How often alone, and each side alone.
    (Dose(times_per_day=1), "Do this once a day."),
    (Dose(days_per_week=1), "Do this 1 day a week."),
    (Dose(days_per_week=6), "Do this 6 days a week."),
    (Dose(times_per_day=4, days_per_week=7), "Do this 4 times a day, every day."),
    (Dose(each_side=True), "Do it on each side."),
    (Dose(each_side=True, times_per_day=2), "Do it on each side. Do this twice a day."),
]


@pytest.mark.parametrize("dose, words", EXACT, ids=lambda x: repr(x) if isinstance(x, str) else "")
def test_dose_reads_as_exact_plain_sentences(dose, words):
    assert dose_text(dose) == words


def test_the_exact_cases_cover_every_branch_once_more_than_today_s_templates_do():
    """Guard against the table above silently shrinking: it names each kind of dose."""
    kinds = {(d.hold_seconds is not None, d.duration_seconds is not None, d.reps is not None,
              d.sets is not None and d.sets > 1, d.each_side) for d, _ in EXACT}
    assert len(kinds) >= 18


def test_dose_text_mentions_every_number_in_the_dose():
    """No number a clinician set may silently drop out of the patient's words."""
    d = Dose(sets=2, reps=7, hold_seconds=25, times_per_day=3, days_per_week=4, each_side=True)
    assert dose_text(d) == ("Hold for 25 seconds. Do 2 rounds of 7 holds on each side, "
                            "3 times a day, 4 days a week. Rest a little between rounds.")

"""dose_text: the one function that turns a dose into words the patient reads."""

from __future__ import annotations

import pytest

from plans.dosage import dose_text
from plans.model import Dose


@pytest.mark.parametrize("dose, words", [
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
])
def test_dose_reads_as_plain_sentences(dose, words):
    assert dose_text(dose) == words


def test_dose_text_mentions_every_number_in_the_dose():
    """No number a clinician set may silently drop out of the patient's words."""
    d = Dose(sets=2, reps=7, hold_seconds=25, times_per_day=3, days_per_week=4, each_side=True)
    text = dose_text(d)
    for n in ("2 rounds", "of 7", "25 seconds", "3 times a day", "4 days a week", "each side"):
        assert n in text

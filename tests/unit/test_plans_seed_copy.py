"""The seed is rewritten in our own words: no run of six words is copied into the data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plans.catalogue import DATA_DIR

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "hamstring-low-back-mobility.txt"
RUN = 6
# Titles of the sources are quoted as they are, on purpose.
ALLOWED = {"hamstring tightness and lumbar lordosis observational study"}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "'"))


def runs(ws: list[str]) -> set[str]:
    return {" ".join(ws[i:i + RUN]) for i in range(len(ws) - RUN + 1)}


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed is not next to this checkout")
def test_no_six_word_run_of_the_seed_appears_in_the_data():
    seed_runs = runs(words(SEED.read_text("utf-8")))
    copied = {}
    for path in sorted(DATA_DIR.rglob("*.yaml")):
        shared = runs(words(path.read_text("utf-8"))) & seed_runs
        shared -= {r for r in shared if any(r in a for a in ALLOWED)}
        if shared:
            copied[path.name] = sorted(shared)
    assert copied == {}

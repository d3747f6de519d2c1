"""Reading rendered handouts back: text per page, normalised so wrapped lines still match."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def page_texts(pdf: bytes) -> list[str]:
    """Extracted text of each page with runs of whitespace (line wraps) collapsed to one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pages_with(texts: list[str], needle: str) -> list[int]:
    """1-based numbers of the pages whose text contains `needle` (whitespace-normalised)."""
    needle = flat(needle)
    return [i for i, t in enumerate(texts, start=1) if needle in t]


def assert_urgent_tiers_on_page_one(texts: list[str], snapshot, options) -> None:
    """The page-1 rule for the warning box (see test_pdf_render for the rule in words)."""
    from plans.model import Tier

    first = texts[0]
    assert "Stop and get help" in first
    assert f"Call {snapshot.clinic.emergency_number} or go to the emergency department now" in first
    assert "Call your clinic today" in first
    same_day = [f for f in snapshot.plan.red_flags if f.tier is Tier.SAME_DAY]
    for flag in snapshot.plan.red_flags:
        if flag.tier is Tier.EMERGENCY:
            assert pages_with(texts, flag.text) == [1], flag.id
        elif flag.tier is Tier.SAME_DAY:
            must_be_first = not options.large_print or flag is same_day[0]
            expected = [1] if must_be_first else [1, 2]
            assert pages_with(texts, flag.text)[0] in expected, flag.id

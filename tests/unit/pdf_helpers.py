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

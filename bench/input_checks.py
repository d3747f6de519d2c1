"""What the security checks cost per request, beside the work they guard.

Run from the repository root: python bench/input_checks.py

Prints, for a typical plan body and for a ~700 KB body: the JSON depth check on the raw bytes
(service/api/bodies.py) against json.loads of the same bytes, and the text walk for NUL and
surrogates; and zxcvbn's password score against one argon2id hash (both run only when a
password is set or checked). It measures; it asserts nothing.
"""

from __future__ import annotations

import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parents[1]))

from service.accounts.passwords import hash_password, password_problem  # noqa: E402
from service.api.bodies import _bad_text, too_deep  # noqa: E402

TYPICAL = json.dumps({
    "template_id": "core_routine", "patient": {"display_name": "Ana P.", "reference": "MRN-1"},
    "screening": {"nerve_symptoms": True, "irritability": "moderate"},
    "dose_changes": {"strap_hamstring_stretch": {"hold_seconds": 40}},
    "notes": "Walk after lunch."}).encode()
LARGE = json.dumps({"items": [{"a": "x" * 50, "b": [1, 2, 3]} for _ in range(9000)]}).encode()


def per_call(fn, number: int) -> float:  # noqa: ANN001
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    print(f"{'body':<10}{'bytes':>9}{'depth check':>14}{'json.loads':>13}{'text walk':>12}"
          f"{'check/parse':>13}")
    for name, body, n in (("typical", TYPICAL, 2000), ("large", LARGE, 3)):
        parsed = json.loads(body)
        depth = per_call(lambda body=body: too_deep(body), n)
        parse = per_call(lambda body=body: json.loads(body), n)
        walk = per_call(lambda parsed=parsed: _bad_text(parsed), n)
        print(f"{name:<10}{len(body):>9}{depth * 1e6:>12.1f}µs{parse * 1e6:>11.1f}µs"
              f"{walk * 1e6:>10.1f}µs{depth / parse:>12.2f}x")
    score = per_call(lambda: password_problem("lamp orbit velvet cactus"), 20)
    argon = per_call(lambda: hash_password("lamp orbit velvet cactus"), 5)
    print(f"zxcvbn score {score * 1e3:.1f} ms vs argon2id hash {argon * 1e3:.1f} ms "
          f"({score / argon:.2f}x)")


if __name__ == "__main__":
    main()

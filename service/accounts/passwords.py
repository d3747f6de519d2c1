"""Password hashing with argon2id at OWASP's recommended parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. About 40 ms
# here: slow for a guesser, quick enough that a clinic's Monday-morning sign-ins never queue.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """False for a wrong password, an empty stored hash (never set) or a malformed one."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


# Spent on unknown emails so a wrong address takes as long as a wrong password and the timing
# does not tell an attacker which addresses have accounts.
_DUMMY_HASH = _hasher.hash("limber-timing-equaliser")


def burn_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


# zxcvbn's 0-4 guessability score: 3 is "safely unguessable: moderate protection from an
# offline attack" (about 10^8 guesses and up), the usual floor for accounts holding personal
# data; 2 lets through things like "password1234" variants with a suffix.
MIN_SCORE = 3


def password_problem(password: str, user_inputs: list[str] | None = None) -> str:
    """Why a new password is refused, or "" if fine. Length over composition (NIST 800-63B),
    and no password a guesser tries early: zxcvbn (Dropbox's estimator, maintained, offline,
    with its own lists of common passwords, names and words) scores it, knowing the person's
    own name, email and clinic, which guessers try first."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few words in a row are easy to remember."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if len(set(password)) < 4:
        return "That password is too easy to guess; use a few different words."
    result = zxcvbn(password, user_inputs=[*(user_inputs or []), "limber"])
    if result["score"] < MIN_SCORE:
        warning = result["feedback"].get("warning") or "It would be guessed quickly."
        return (f"That password is too easy to guess. {warning.rstrip('.')}. Use three or four "
                "words that do not belong together, like 'lamp orbit velvet cactus'.")
    return ""

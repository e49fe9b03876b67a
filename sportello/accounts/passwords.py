"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import gzip
import re
import string
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sportello.errors import ErrorCode, SportelloError

MIN_LENGTH = 10
_hasher = PasswordHasher()  # type=Argon2id
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("sportello-dummy-password")


# The 20,000 most common passwords (Royce Williams' list from breach corpora, lowercased, as
# Django ships it): see common-passwords.LICENSE.txt beside it for the source and licence.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")
_LEET = str.maketrans("0134579@$!", "oieastgasi")
_EDGES = string.digits + string.punctuation + " "


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def _is_run(text: str) -> bool:
    """One repeated character, or a straight run ("1234567890", "abcdefghij", "9876543210")."""
    if len(set(text)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def is_common(password: str) -> bool:
    """The password, or its word with digits and symbols taken off the ends ("password12",
    "Juventus1897!", "P4ssw0rd"), is among the common ones, or it is a run of one key."""
    low = password.lower()
    words = {low, low.strip(_EDGES), low.translate(_LEET), low.translate(_LEET).strip(_EDGES)}
    words.discard("")
    common = common_passwords()
    if any(w in common for w in words if len(w) >= 4):
        return True
    core = low.strip(_EDGES) or low
    return _is_run(core) or _is_run(low)


def _personal_words(values: Iterable[str | None]) -> set[str]:
    words: set[str] = set()
    for value in values:
        for word in re.split(r"[^a-z0-9]+", (value or "").lower()):
            if len(word) >= 3:
                words.add(word)
    return words


def check_strength(password: str, personal: Iterable[str | None] = ()) -> None:
    """Length, no common or breached password (ASVS 2.1.7), nothing of the user's own name
    (`personal`: username, display name)."""
    if len(password) < MIN_LENGTH:
        raise SportelloError(ErrorCode.INVALID_INPUT, "password_too_short", length=MIN_LENGTH)
    if password.strip() != password:
        raise SportelloError(ErrorCode.INVALID_INPUT, "password_spaces")
    if is_common(password):
        raise SportelloError(ErrorCode.INVALID_INPUT, "password_common")
    low = password.lower()
    if any(word in low for word in _personal_words(personal)):
        raise SportelloError(ErrorCode.INVALID_INPUT, "password_has_name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the time of a check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

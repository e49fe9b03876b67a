"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sportello.errors import ErrorCode, SportelloError

MIN_LENGTH = 10
_hasher = PasswordHasher()  # type=Argon2id
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("sportello-dummy-password")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise SportelloError(
            ErrorCode.INVALID_INPUT, f"La password deve avere almeno {MIN_LENGTH} caratteri."
        )
    if password.strip() != password:
        raise SportelloError(
            ErrorCode.INVALID_INPUT, "La password non può iniziare o finire con uno spazio."
        )


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

"""Agents' passwords, hashed with Argon2id so that a leaked ``agents`` table does not leak the passwords."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# argon2-cffi's defaults follow RFC 9106; raising them later makes needs_rehash flag the old hashes.
_HASHER = PasswordHasher()


def hash_password(plain: str) -> str:
    """The Argon2id hash to store; refuses passwords too short to resist guessing."""
    if not plain:
        msg = "the password is empty"
        raise ValueError(msg)
    if len(plain) < MIN_LENGTH:
        msg = f"the password is {len(plain)} characters long; at least {MIN_LENGTH} are needed"
        raise ValueError(msg)
    return _HASHER.hash(plain)


def verify_password(hashed: str, plain: str) -> bool:
    """True when ``plain`` matches; a wrong password and an unreadable hash are both just False."""
    try:
        return _HASHER.verify(hashed, plain)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when the hash was made with weaker parameters (or cannot be read): re-hash at the next login."""
    try:
        return _HASHER.check_needs_rehash(hashed)
    except InvalidHashError:
        return True

"""Password hashes: scrypt (:func:`hashlib.scrypt`) with a random salt, never plain text.

A hash reads ``scrypt$N$r$p$SALT$KEY`` (salt and key in URL-safe base64): the cost
parameters travel with it, so they can grow without breaking existing hashes.
``databay web --hash-password`` makes one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1  # 16 MiB and about 50 ms per hash: a guess costs an attacker as much
KEY_BYTES = 32
MAX_N = 2**20  # a hash asking for more memory than this is refused, not computed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """A new hash of ``password`` (a fresh salt each time)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def check_hash(hashed: str) -> str | None:
    """What is wrong with ``hashed`` as a stored hash, or ``None``."""
    parts = hashed.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return "not a password hash (a plain password?): make one with `databay web --hash-password`"
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return "a damaged scrypt hash: make a new one with `databay web --hash-password`"
    if not (2 <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16) or not salt or not key:
        return "an scrypt hash with unusable parameters: make a new one with `databay web --hash-password`"
    return None


def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed`` (checked with :func:`check_hash` first).
    Takes about as long whatever the answer; compared in constant time."""
    if check_hash(hashed) is not None:
        return False
    _, n, r, p, salt, key = hashed.split("$")
    expected = _unb64(key)
    actual = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                            dklen=len(expected), maxmem=2 * 128 * int(r) * int(n) + 1024 * 1024)
    return hmac.compare_digest(actual, expected)

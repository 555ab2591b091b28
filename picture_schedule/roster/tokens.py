"""Feed-link tokens: made with secrets, kept only as hashes; the static file name derived apart."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

TOKEN_BYTES = 24  # 192 random bits; token_urlsafe(24) is 32 characters of [A-Za-z0-9_-]
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,128}")  # what a link may carry (≥ 128 bits)
_STATIC_PREFIX = b"picture-schedule/static-feed-name/v1\0"

def new_token() -> str:
    """A fresh feed token: 192 bits from the OS's CSPRNG, URL-safe (32 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """What the roster stores to find a feed by its token (SHA-256, 32 bytes)."""
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


def static_name(token: str) -> str:
    """The published file name of a token's feed: a different derivation from :func:`token_hash`.

    Neither the token nor the stored lookup hash can be computed from it, and it cannot be computed
    from the lookup hash, so the static site's names and the server's lookup hashes are separate
    secrets. 192 bits, URL-safe, 32 characters.
    """
    digest = hashlib.sha256(_STATIC_PREFIX + token.encode("ascii", "replace")).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode("ascii")

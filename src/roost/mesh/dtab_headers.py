"""Per-request dtabs carried in headers.

* Linkerd: a request's local dtab is every ``l5d-ctx-dtab`` value (propagated from upstream)
  followed by every ``l5d-dtab`` value (the user's override, so it wins); the router takes
  both off the request and sends the combined dtab on as ``l5d-ctx-dtab``.
* Finagle: ``Dtab-Local`` values, whose dentries may be separated by ``;`` or ``,``, after the
  legacy ``X-Dtab-NN-A`` / ``X-Dtab-NN-B`` pairs (base64 prefix and destination, by ``NN``).

A value that does not parse raises :class:`~roost.naming.NamingSyntaxError` naming the
header: the router answers 400 with ``l5d-err``.
"""

from __future__ import annotations

import base64
import binascii
import re

from roost.naming import Dentry, Dtab, NamingSyntaxError
from roost.rpc.http import Headers

CTX_DTAB = "l5d-ctx-dtab"
USER_DTAB = "l5d-dtab"
DTAB_LOCAL = "dtab-local"
_LEGACY = re.compile(r"x-dtab-(\d+)-([ab])", re.IGNORECASE)


def _read(header: str, value: str) -> Dtab:
    try:
        return Dtab.read(value)
    except NamingSyntaxError as exc:
        raise NamingSyntaxError(f"Invalid {header} header: {exc}") from None


def linkerd_local_dtab(headers: Headers) -> Dtab:
    """``l5d-ctx-dtab`` then ``l5d-dtab``, every value of each, in order."""
    dtab = Dtab()
    for header in (CTX_DTAB, USER_DTAB):
        for value in headers.get_all(header):
            dtab = dtab + _read(header, value)
    return dtab


def take_linkerd_local_dtab(headers: Headers) -> Dtab:
    """As :func:`linkerd_local_dtab`, and removes both headers from the request."""
    dtab = linkerd_local_dtab(headers)
    headers.replace_all(frozenset((CTX_DTAB, USER_DTAB)), ())
    return dtab


def finagle_local_dtab(headers: Headers) -> Dtab:
    """The legacy ``X-Dtab-NN-A/B`` pairs (by ``NN``), then every ``Dtab-Local`` value."""
    pairs: dict[int, dict[str, str]] = {}
    for name, value in headers:
        m = _LEGACY.fullmatch(name)
        if m:
            pairs.setdefault(int(m.group(1)), {})[m.group(2).lower()] = value
    dentries = []
    for n in sorted(pairs):
        pair = pairs[n]
        if set(pair) != {"a", "b"}:
            raise NamingSyntaxError(f"Invalid X-Dtab-{n:02d} headers: need both -A and -B")
        try:
            prefix = base64.b64decode(pair["a"], validate=True).decode("utf-8")
            dst = base64.b64decode(pair["b"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise NamingSyntaxError(f"Invalid X-Dtab-{n:02d} headers: {exc}") from None
        dentries.append(Dentry.read(f"{prefix}=>{dst}"))
    dtab = Dtab(dentries)
    for value in headers.get_all(DTAB_LOCAL):
        dtab = dtab + _read("Dtab-Local", value.replace(",", ";"))
    return dtab

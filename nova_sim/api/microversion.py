"""Compute API microversions: parsing the request headers and comparing versions.

Owns ``APIVersion`` (a ``major.minor`` pair), the supported range (``MIN_VERSION`` 2.1 to
``MAX_VERSION`` 2.100, Nova 2025.x's maximum) and ``from_headers``, which reads
``OpenStack-API-Version: compute X`` (preferred) or the legacy
``X-OpenStack-Nova-API-Version: X`` the way Nova does: absent means 2.1, ``latest`` means
the maximum, a malformed value is a 400 and a value outside the range a 406. Must not know
about routing, resources or the WSGI server.
"""

from __future__ import annotations

import re
from functools import total_ordering

from nova_sim.api import faults

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@total_ordering
class APIVersion:
    """A microversion ``major.minor``; compares as the pair of integers."""

    __slots__ = ("major", "minor", "_at_least")

    def __init__(self, major: int, minor: int):
        self.major = major
        self.minor = minor
        self._at_least: dict[str, bool] = {}  # "2.47" -> self >= 2.47 (views ask often)

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        """``"2.53"`` -> ``APIVersion(2, 53)``; raises ``ValueError`` when malformed."""
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))

    def _key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __eq__(self, other):
        if isinstance(other, str):
            other = APIVersion.parse(other)
        return self._key() == other._key()

    def __lt__(self, other):
        if isinstance(other, str):
            other = APIVersion.parse(other)
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def matches(self, min_version: str | None = None, max_version: str | None = None) -> bool:
        """True when ``min_version <= self <= max_version`` (either bound may be omitted)."""
        if max_version is None and min_version is not None:
            known = self._at_least.get(min_version)
            if known is None:
                known = self._at_least[min_version] = (
                    (self.major, self.minor) >= _bound(min_version))
            return known
        key = (self.major, self.minor)
        if min_version is not None and key < _bound(min_version):
            return False
        if max_version is not None and key > _bound(max_version):
            return False
        return True

    def __str__(self):
        return f"{self.major}.{self.minor}"

    __repr__ = __str__


_BOUNDS: dict[str, tuple[int, int]] = {}


def _bound(text: str) -> tuple[int, int]:
    """``"2.47"`` -> ``(2, 47)``, parsed once (controllers compare against literals)."""
    key = _BOUNDS.get(text)
    if key is None:
        key = APIVersion.parse(text)._key()
        _BOUNDS[text] = key
    return key


MIN_VERSION = APIVersion(2, 1)
MAX_VERSION = APIVersion(2, 100)
DEFAULT_VERSION = MIN_VERSION

HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE_TYPE = "compute"


def _requested(headers) -> str | None:
    """The raw requested version from the headers, or None when none was asked for."""
    value = headers.get(HEADER)
    if value is not None:
        # "compute 2.53" possibly among other services: "compute 2.53, placement 1.2".
        for item in value.split(","):
            parts = item.strip().split(None, 1)
            if parts and parts[0].lower() == SERVICE_TYPE:
                if len(parts) == 1:
                    raise faults.BadRequest(
                        f"Invalid {HEADER} header: {value!r}: the version is missing after "
                        f"'{SERVICE_TYPE}'."
                    )
                return parts[1].strip()
    legacy = headers.get(LEGACY_HEADER)
    if legacy is not None:
        return legacy.strip()
    return None


def from_headers(headers) -> APIVersion:
    """The microversion asked for by a request's headers.

    Raises ``faults.BadRequest`` when the value is malformed and ``faults.NotAcceptable``
    (406) when it is outside ``MIN_VERSION..MAX_VERSION``.
    """
    requested = _requested(headers)
    if requested is None:
        return DEFAULT_VERSION
    if requested.lower() == "latest":
        return MAX_VERSION
    try:
        version = APIVersion.parse(requested)
    except ValueError:
        raise faults.BadRequest(
            f"API Version String {requested!r} is of invalid format. It must be of format "
            "'major.minor' (for example 2.53) or 'latest'."
        )
    if not (MIN_VERSION <= version <= MAX_VERSION):
        raise faults.NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} and "
            f"maximum is {MAX_VERSION}."
        )
    return version


def response_headers(version: APIVersion) -> list[tuple[str, str]]:
    """The headers that tell the client which microversion answered."""
    return [
        (HEADER, f"{SERVICE_TYPE} {version}"),
        (LEGACY_HEADER, str(version)),
        ("Vary", f"{HEADER}, {LEGACY_HEADER}"),
    ]

"""Parsing and formatting of durations, in seconds.

Accepted forms, for every setting and CLI flag that takes a duration:

- ISO 8601 durations as Graph and sso-admin use them: ``PT1H``, ``PT1H45M``, ``P90D``, ``PT30S``
  (days, hours, minutes, seconds only; no years, months or weeks — the Graph duration pattern in
  reference/entra-pim-provisioning.md §1.4 allows ``D``, ``H``, ``M``, ``S`` only);
- short human forms: ``90s``, ``30m``, ``8h``, ``7d``, ``1h30m``, ``1.5h``;
- a number (``int``/``float``, e.g. from Python or a TOML number), meaning seconds.

A string holding only a number (``"2"``) is refused: on a command line ``--max-window 2`` is far more likely a slip
for 2 h than a limit of 2 seconds, so the unit must be written (``2s``, ``2m``, ``2h``).

Only ASCII digits count (``PT۱H`` is refused: Python's ``\\d`` and ``float`` accept any Unicode digit) and the text
may not start or end with white space (``"PT1H "`` is refused, as Graph's duration type refuses it).
"""

from __future__ import annotations

import math
import re

__all__ = ["DurationError", "format_duration", "parse_duration", "to_iso8601"]

_ISO = re.compile(
    r"^P(?:(?P<d>[0-9]+(?:\.[0-9]+)?)D)?(?:T(?:(?P<h>[0-9]+(?:\.[0-9]+)?)H)?(?:(?P<m>[0-9]+(?:\.[0-9]+)?)M)?"
    r"(?:(?P<s>[0-9]+(?:\.[0-9]+)?)S)?)?$",
    re.IGNORECASE,
)
_HUMAN_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?(d|h|m|min|s|sec)", re.IGNORECASE)
_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "sec": 1.0}


class DurationError(ValueError):
    """A duration string that is neither ISO 8601 (``PT1H``) nor a short form (``1h30m``)."""


def parse_duration(value: str | float | int) -> float:
    """Return ``value`` as a number of seconds.

    Raises :class:`DurationError` with a message that shows the accepted forms.
    """
    if isinstance(value, bool):
        raise DurationError(f"{value!r} is not a duration; use e.g. PT1H, 90m or 8h")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise DurationError(f"{value!r} is not a duration; it must be a finite number of seconds >= 0")
        return float(value)
    if not isinstance(value, str):
        raise DurationError(
            f"{value!r} is not a duration; use a string such as PT1H, 90m or 8h, or a number of seconds"
        )
    text = value
    if not text.strip():
        raise DurationError("empty duration; use e.g. PT1H, 90m or 8h")
    if text != text.strip() or not text.isascii():
        raise DurationError(
            f"{text!r} is not a duration: only ASCII digits and no leading or trailing space (e.g. PT1H, 90m, 8h)"
        )
    if text.upper().startswith("P"):
        match = _ISO.match(text)
        if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
            raise DurationError(
                f"{text!r} is not an ISO 8601 duration of days/hours/minutes/seconds (e.g. PT1H, PT1H45M, P90D)"
            )
        parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
        return parts.get("d", 0.0) * 86400 + parts.get("h", 0.0) * 3600 + parts.get("m", 0.0) * 60 + parts.get("s", 0.0)
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise DurationError(f"{text!r} is not a duration; write e.g. 40m, 1h or PT1H")
        raise DurationError(
            f"{text!r} has no unit; write e.g. {text}m, {text}h or {text}s (seconds), or ISO 8601 such as PT1H"
        )
    pos = 0
    total = 0.0
    compact = text.replace(" ", "")
    for match in _HUMAN_PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT[match.group(2).lower()]
        pos = match.end()
    if pos != len(compact) or pos == 0:
        raise DurationError(f"{text!r} is not a duration; use e.g. PT1H, 90m, 8h, 1h30m or 7d")
    return total


def format_duration(seconds: float) -> str:
    """Return a compact human form of ``seconds``: ``10h 40m``, ``2m 30s``, ``0s``."""
    if not math.isfinite(seconds):
        return "∞" if seconds > 0 else "-∞"
    sign = "-" if seconds < 0 else ""
    rest = round(abs(seconds))
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return sign + (" ".join(parts) if parts else "0s")


def to_iso8601(seconds: float) -> str:
    """Return ``seconds`` as an ISO 8601 duration in hours/minutes/seconds (``PT8H``, ``PT1H30M``)."""
    rest = round(seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out

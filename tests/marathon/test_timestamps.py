from __future__ import annotations

import collections
import collections.abc
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.core.clock import ManualClock
from roost.marathon.timestamps import format_ts, newer_version, now_ts, parse_ts

# marathon 0.13.0 still uses collections.Iterable (removed in Python 3.10).
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
from marathon.util import to_datetime  # noqa: E402

# 2015-09-29T15:59:51.164Z, the version in Marathon's deploymentResult.raml example
EXAMPLE = 1443542391.164


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (EXAMPLE, "2015-09-29T15:59:51.164Z"),
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000.0, "2023-11-14T22:13:20.000Z"),
        (1_700_000_000.5, "2023-11-14T22:13:20.500Z"),
        (1_700_000_000.0019, "2023-11-14T22:13:20.001Z"),  # sub-millisecond part dropped
        (1_700_000_000.9999, "2023-11-14T22:13:20.999Z"),  # truncated, never rounded up
        (951_782_400.007, "2000-02-29T00:00:00.007Z"),
    ],
)
def test_format_ts_writes_utc_with_exactly_three_millisecond_digits(
    epoch: float, text: str
) -> None:
    assert format_ts(epoch) == text


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2015-09-29T15:59:51.164Z", EXAMPLE),
        ("2015-09-29T15:59:51Z", 1443542391.0),  # Marathon omits .000 sometimes
        ("2015-09-29T15:59:51.164000Z", EXAMPLE),  # microseconds, as the client writes them
        ("2015-09-29T15:59:51.1Z", 1443542391.1),
    ],
)
def test_parse_ts_accepts_the_client_formats_as_utc(text: str, epoch: float) -> None:
    assert parse_ts(text) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "2015-09-29T15:59:51.164+00:00",  # offsets: the client's to_datetime refuses them
        "2015-09-29T15:59:51.164",  # no Z
        "2015-09-29 15:59:51.164Z",  # space instead of T
        "2015-09-29T15:59:51.164123456Z",  # nanoseconds
        "2015-13-29T15:59:51.164Z",  # month 13
        "2015-09-29",
        "",
        "yesterday",
    ],
)
def test_parse_ts_rejects_what_the_client_rejects_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid timestamp") as info:
        parse_ts(text)
    assert repr(text) in str(info.value)
    with pytest.raises(ValueError, match="Unrecognized datetime format"):
        to_datetime(text)  # the real client does not accept it either


def test_parse_ts_rejects_a_non_string_value() -> None:
    with pytest.raises(ValueError, match="Invalid timestamp 1443542391"):
        parse_ts(1443542391)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # up to 2100
def test_format_and_parse_round_trip_every_millisecond(ms: int) -> None:
    text = format_ts(ms / 1000)
    assert format_ts(parse_ts(text)) == text
    assert round(parse_ts(text) * 1000) == ms


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_the_marathon_client_parses_every_formatted_timestamp(epoch: float) -> None:
    text = format_ts(epoch)
    parsed = to_datetime(text)
    assert parsed == datetime.fromtimestamp(parse_ts(text), UTC)
    assert abs(parsed.timestamp() - epoch) < 0.001 + 1e-6


def test_now_ts_uses_the_wall_clock_of_the_given_clock() -> None:
    clock = ManualClock(wall=EXAMPLE)
    assert now_ts(clock) == "2015-09-29T15:59:51.164Z"
    clock.advance(1.5)
    assert now_ts(clock) == "2015-09-29T15:59:52.664Z"


def test_newer_version_without_a_previous_version_is_now() -> None:
    assert newer_version(None, ManualClock(wall=EXAMPLE)) == "2015-09-29T15:59:51.164Z"


def test_newer_version_is_now_when_time_has_moved_on() -> None:
    clock = ManualClock(wall=EXAMPLE)
    assert newer_version("2015-09-29T15:59:50.000Z", clock) == "2015-09-29T15:59:51.164Z"


def test_two_updates_in_one_millisecond_get_distinct_increasing_versions() -> None:
    clock = ManualClock(wall=EXAMPLE)
    first = newer_version(None, clock)
    second = newer_version(first, clock)
    third = newer_version(second, clock)
    assert (first, second, third) == (
        "2015-09-29T15:59:51.164Z",
        "2015-09-29T15:59:51.165Z",
        "2015-09-29T15:59:51.166Z",
    )
    clock.advance(0.0004)  # still the same millisecond: keeps counting up from the last one
    assert newer_version(third, clock) == "2015-09-29T15:59:51.167Z"


def test_newer_version_stays_ahead_of_a_previous_version_from_the_future() -> None:
    # The wall clock stepped back (NTP) or the version came from another machine.
    clock = ManualClock(wall=EXAMPLE)
    assert newer_version("2015-09-29T16:00:00.999Z", clock) == "2015-09-29T16:00:01.000Z"


def test_newer_version_beats_a_previous_version_with_microseconds() -> None:
    clock = ManualClock(wall=EXAMPLE)
    newer = newer_version("2015-09-29T15:59:51.164500Z", clock)
    assert newer == "2015-09-29T15:59:51.165Z"
    assert parse_ts(newer) > parse_ts("2015-09-29T15:59:51.164500Z")


def test_newer_version_rejects_a_malformed_previous_version() -> None:
    with pytest.raises(ValueError, match="Invalid timestamp 'not-a-time'"):
        newer_version("not-a-time", ManualClock())


@given(st.lists(st.floats(min_value=0, max_value=0.002), max_size=30))
def test_versions_strictly_increase_however_the_clock_moves(steps: list[float]) -> None:
    clock = ManualClock(wall=EXAMPLE)
    version = newer_version(None, clock)
    for step in steps:
        clock.advance(step)
        nxt = newer_version(version, clock)
        assert parse_ts(nxt) > parse_ts(version)
        version = nxt

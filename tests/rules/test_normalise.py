"""Normalisation to declared types: what every engine sees."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rules.normalise import normaliser, to_bool, to_days, to_number, to_string
from tests.rules.conftest import MINI, compile_text


@pytest.mark.parametrize("raw, expected", [
    (3, 3), (2.0, 2), (2.5, 2.5), ("12", 12), (" 3.5 ", 3.5), ("1e3", 1000), ("-4", -4),
    ("abc", None), ("1,000", None), ("", None), ("NaN", None), (float("nan"), None), (float("inf"), None),
    (True, None), (None, None), ([1], None),
])
def test_numbers(raw, expected) -> None:
    assert to_number(raw) == expected and type(to_number(raw)) is type(expected)


@pytest.mark.parametrize("raw, expected", [
    (True, True), ("true", True), ("FALSE", False), ("yes", True), ("0", False), (1, True), (0, False),
    (2, None), ("maybe", None), (None, None), ("", None),
])
def test_booleans(raw, expected) -> None:
    assert to_bool(raw) is expected


@pytest.mark.parametrize("raw, expected", [("VP", "VP"), ("", None), ("   ", None), (5, "5"), (None, None),
                                           (True, None)])
def test_strings(raw, expected) -> None:
    assert to_string(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (date(1970, 1, 2), 1), ("2026-11-24", 20781), ("2026-5-1", 20574), ("2026-11-24T23:30:00Z", 20781),
    (datetime(2026, 11, 24, 23, 30, tzinfo=timezone(timedelta(hours=-5))), 20782),
    (datetime(2026, 11, 24, 1, 0), 20781), ("2026-02-30", None), ("24/11/2026", None), (20781, None), (None, None),
])
def test_dates_are_days_since_epoch(raw, expected) -> None:
    assert to_days(raw) == expected


def test_normalised_record_has_every_field_and_derived_values() -> None:
    text = MINI.replace("{field: vip, eq: true}", "{field: title, contains: head}")
    normalise = normaliser(compile_text(text).kind("lead"))
    out = normalise({"stage": "Nope", "seen": "2026-11-20", "title": "HEAD of IT", "clicks": "7"}, 20781)
    assert out["stage"] is None and out["email"] is None and out["clicks"] == 7
    assert out["seen__age"] == 4 and out["title__contains_1"] is True
    assert set(out) >= {"stage", "email", "title", "clicks", "vip", "seen", "score", "recycle_count"}

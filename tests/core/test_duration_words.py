"""Durations as config writes them: messages quote what a user may type back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lookout.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(days=2), "2d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0d"),
    ],
)
def test_the_largest_whole_unit(value, words):
    assert format_duration(value) == words
    assert parse_duration(words) == value

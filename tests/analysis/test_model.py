"""The model's rules the analysis applies (clockbench.model): the latency setting, deadlines and the
ticks due before the end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clockbench.file.model import CONSTANT, EXP, UNIFORM, deadlines, parse_latency, ticks_before


@pytest.mark.parametrize("text, form, least, most", [
    ("0", CONSTANT, 0.0, 0.0), ("0.05", CONSTANT, 0.05, 0.05), ("1e-3", CONSTANT, 0.001, 0.001),
    ("uniform:0.01,0.4", UNIFORM, 0.01, 0.4), ("uniform:0,0", UNIFORM, 0.0, 0.0),
    ("exp:0.2", EXP, 0.0, math.inf), (" 0.05 ", CONSTANT, 0.05, 0.05),
])
def test_latency_settings(text: str, form: str, least: float, most: float) -> None:
    lat = parse_latency(text)
    assert (lat.form, lat.least, lat.most, lat.text) == (form, least, most, text)
    assert lat.constant == (form == CONSTANT)


@pytest.mark.parametrize("text", ["", "fast", "-0.1", "nan", "inf", "uniform:0.4", "uniform:0.4,0.1",
                                  "uniform:a,b", "uniform:0,1,2", "exp:", "exp:-1", "exp:inf", "const:1"])
def test_latency_settings_that_are_none(text: str) -> None:
    with pytest.raises(ValueError, match=f"latency '{text}'"):
        parse_latency(text)


def test_deadlines_are_the_ieee_expression_of_docs_model() -> None:
    phase, rate = np.array([0.1, 0.0]), np.array([3.0, 7.0])
    got = deadlines(phase, np.array([5, 11]), rate)
    assert got.tolist() == [0.1 + 5.0 / 3.0, 0.0 + 11.0 / 7.0]


@pytest.mark.parametrize("end, phase, rate", [(10.0, 0.0, 3.0), (10.0, 0.1, 3.0), (1.0, 0.0, 10.0),
                                              (0.3, 0.0, 10.0), (20.0, 1 / 6, 6.0), (0.0, 0.0, 2.0),
                                              (5.0, 0.25, 4.0), (7.0, 0.999 / 3, 3.0)])
def test_ticks_before_counts_the_deadlines_before_the_end(end: float, phase: float, rate: float) -> None:
    count = 0
    while phase + float(count) / rate < end:
        count += 1
    assert ticks_before(end, phase, rate) == count

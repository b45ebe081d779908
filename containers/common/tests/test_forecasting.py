import math

import numpy as np
import pandas as pd
import pytest

from sapphire_common.forecasting import (
    ForecastError,
    PriceQuantiles,
    log_returns,
    mean_weighted_quantile_loss,
    naive_quantiles,
    period_index_end,
    price_quantiles,
)


def test_log_returns_are_the_log_ratios_of_consecutive_prices():
    assert log_returns([100.0, 110.0, 99.0]) == pytest.approx([math.log(1.1), math.log(0.9)])


@pytest.mark.parametrize("prices", [[100.0], [100.0, 0.0], [100.0, -1.0], [100.0, float("nan")], [100.0, float("inf")]])
def test_log_returns_refuse_series_that_are_not_positive_prices(prices):
    with pytest.raises(ValueError):
        log_returns(prices)


def test_price_quantiles_compound_returns_from_the_last_price():
    # Every path: +1% then -1% in log terms; all quantiles coincide.
    samples = np.tile([math.log(1.01), -math.log(1.01)], (10, 1))
    quantiles = price_quantiles(200.0, samples, horizon=2)
    for q in (0.1, 0.5, 0.9):
        assert quantiles.path(q) == pytest.approx([202.0, 200.0])


def test_price_quantiles_are_ordered_and_positive_whatever_the_samples():
    rng = np.random.default_rng(0)
    samples = rng.standard_t(1.5, size=(100, 15)) * 5.0  # heavy tails, huge moves
    samples[0, 3] = np.nan
    samples[1, :] = 1e6
    samples[2, :] = -1e6
    quantiles = price_quantiles(20_000.0, samples, horizon=15)
    p10, p50, p90 = quantiles.path(0.1), quantiles.path(0.5), quantiles.path(0.9)
    assert np.all(np.isfinite(p10)) and np.all(p10 > 0)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)


def test_price_quantiles_refuse_mostly_non_finite_samples():
    samples = np.full((10, 5), np.nan)
    samples[:3] = 0.0
    with pytest.raises(ForecastError):
        price_quantiles(100.0, samples, horizon=5)


def test_price_quantiles_refuse_a_horizon_beyond_the_model():
    with pytest.raises(ForecastError):
        price_quantiles(100.0, np.zeros((10, 5)), horizon=6)


def test_weighted_quantile_loss_matches_its_definition():
    actual = np.array([[10.0, 12.0]])
    forecast = PriceQuantiles({0.1: np.array([9.0, 9.0]), 0.5: np.array([10.0, 10.0]), 0.9: np.array([11.0, 11.0])})
    # q=0.1: y above the quantile by 1 and 3 -> 0.1*(1+3) = 0.4; q=0.5: 0.5*(0+2) = 1.0;
    # q=0.9: y below by 1 at step 0 -> 0.1*1, above by 1 at step 1 -> 0.9*1; total 1.0.
    expected = np.mean([2 * 0.4 / 22, 2 * 1.0 / 22, 2 * 1.0 / 22])
    assert mean_weighted_quantile_loss(actual, [forecast]) == pytest.approx(expected)


def test_a_perfect_forecast_has_zero_loss_and_the_no_change_forecast_does_not():
    actual = np.array([[100.0, 101.0, 102.0]])
    perfect = PriceQuantiles({q: actual[0].copy() for q in (0.1, 0.5, 0.9)})
    assert mean_weighted_quantile_loss(actual, [perfect]) == 0.0
    assert mean_weighted_quantile_loss(actual, [naive_quantiles(100.0, 3, (0.1, 0.5, 0.9))]) > 0.0


def test_the_last_closed_period_is_the_one_before_now():
    now = pd.Timestamp("2026-11-25T10:15:42Z")
    assert period_index_end("1min", now) == pd.Period("2026-11-25 10:14", freq="1min")

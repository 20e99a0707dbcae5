"""Energies and the Weibull decision on synthetic energies; saving, loading and its checks."""
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from cl_dense.det import WeibullEnergyModel, energy_score
from cl_dense.det.energy import WeibullParams, weibull_path_for


def test_energy_is_minus_t_logsumexp_over_t():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    t = 1.5
    expected = [-t * math.log(sum(math.exp(v / t) for v in row)) for row in logits.tolist()]
    assert energy_score(logits, t).tolist() == pytest.approx(expected, rel=1e-6)
    # T -> small: energy -> -max logit
    assert energy_score(logits, 1e-3)[0].item() == pytest.approx(-3.0, abs=1e-2)


def test_energy_rejects_bad_input():
    with pytest.raises(ValueError, match='temperature'):
        energy_score(torch.zeros(2, 2), 0.0)
    with pytest.raises(ValueError, match='logits_known'):
        energy_score(torch.zeros(2, 0), 1.0)


def test_fit_recovers_the_decision_of_the_true_distributions():
    rng = np.random.default_rng(0)
    known = stats.weibull_min(2.0, loc=-12.0, scale=4.0)
    unknown = stats.weibull_min(2.5, loc=-7.0, scale=3.0)
    model = WeibullEnergyModel.fit(known.rvs(4000, random_state=rng),
                                   unknown.rvs(4000, random_state=rng), 1.5, 'leakage_free')
    assert model.known.shape == pytest.approx(2.0, rel=0.25)
    assert model.unknown.loc == pytest.approx(-7.0, abs=0.8)
    grid = np.linspace(-12, 2, 1401)
    truth = unknown.logpdf(grid) > known.logpdf(grid)
    decided = model.is_unknown(torch.from_numpy(grid)).numpy()
    assert truth.any() and (~truth).any()
    assert (decided == truth).mean() > 0.97


def test_decision_outside_the_supports():
    # the unknown fit has support everywhere above -100, the known fit only above 0
    model = WeibullEnergyModel(1.5, WeibullParams(2.0, 0.0, 1.0), WeibullParams(1.0, -100.0, 50.0),
                               'paper', 10, 10)
    energies = torch.tensor([-200.0, -5.0, 0.5])
    # below both supports: known; only the unknown density > 0: unknown; at 0.5 the known density
    # (~0.78) beats the unknown one (~0.0027)
    assert model.is_unknown(energies).tolist() == [False, True, False]


def test_save_load_round_trip_and_temperature_check(tmp_path):
    model = WeibullEnergyModel(1.5, WeibullParams(2.0, -10.0, 3.0), WeibullParams(1.2, -5.0, 2.0),
                               'paper', 100, 20)
    path = tmp_path / 'iter_10_weibull.json'
    model.save(str(path))
    assert json.loads(path.read_text())['temperature'] == 1.5
    assert WeibullEnergyModel.load(str(path), 1.5) == model
    with pytest.raises(ValueError, match='temperature 1.5 but the model uses 1.0'):
        WeibullEnergyModel.load(str(path), 1.0)
    with pytest.raises(FileNotFoundError, match='fit_ore_weibull.py'):
        WeibullEnergyModel.load(str(tmp_path / 'missing.json'), 1.5)
    assert weibull_path_for('/w/iter_10.pth') == '/w/iter_10_weibull.json'


def test_fit_rejects_too_few_or_bad_energies():
    with pytest.raises(ValueError, match='unknown energies'):
        WeibullEnergyModel.fit(np.arange(5.0), np.array([1.0, 2.0]), 1.5, 'paper')
    with pytest.raises(ValueError, match='known energies'):
        WeibullEnergyModel.fit(np.array([1.0, np.nan, 2.0, 3.0]), np.arange(5.0), 1.5, 'paper')
    with pytest.raises(ValueError, match='protocol'):
        WeibullEnergyModel.fit(np.arange(5.0), np.arange(5.0), 1.5, 'val')

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
    # the negated energies -E are Weibull distributed; both rules agree with the true densities'
    rng = np.random.default_rng(0)
    known = stats.weibull_min(2.0, loc=4.0, scale=6.0)
    unknown = stats.weibull_min(2.5, loc=1.0, scale=3.0)
    model = WeibullEnergyModel.fit(-known.rvs(4000, random_state=rng),
                                   -unknown.rvs(4000, random_state=rng), 1.5, 'leakage_free')
    assert model.known.shape == pytest.approx(2.0, rel=0.25)
    assert model.unknown.loc == pytest.approx(1.0, abs=0.8)
    assert model.rule == 'threshold'
    grid = np.linspace(1.0, 12.0, 1101)  # the unknown fit's support and the crossing
    truth = unknown.logpdf(grid) > known.logpdf(grid)
    assert truth.any() and (~truth).any()
    for rule in ('threshold', 'density'):
        decided = model.with_rule(rule).is_unknown(torch.from_numpy(-grid)).numpy()
        assert (decided == truth).mean() > 0.97, rule
    # the threshold is the crossing of the true densities (unknown below it in -E)
    crossing = grid[np.nonzero(truth)[0].max()]
    assert -model.threshold == pytest.approx(crossing, abs=0.3)


def test_density_rule_outside_the_supports():
    # fits of -E: the unknown one has support above -100, the known one only above 0
    model = WeibullEnergyModel(1.5, WeibullParams(2.0, 0.0, 1.0), WeibullParams(1.0, -100.0, 50.0),
                               'paper', 10, 10, rule='density')
    energies = torch.tensor([200.0, 5.0, -0.5])
    # -E below both supports: known; only the unknown density > 0: unknown; at -E = 0.5 the known
    # density (~0.78) beats the unknown one (~0.0027)
    assert model.is_unknown(energies).tolist() == [False, True, False]


def test_threshold_rule_and_bad_rules():
    model = WeibullEnergyModel(1.5, WeibullParams(2.0, 0.0, 1.0), WeibullParams(1.0, -100.0, 50.0),
                               'paper', 10, 10, threshold=-3.0)
    assert model.is_unknown(torch.tensor([-4.0, -3.0, -2.9, 100.0])).tolist() == [
        False, False, True, True]
    with pytest.raises(ValueError, match='rule'):
        model.with_rule('ratio')
    with pytest.raises(ValueError, match='negated_energy'):
        WeibullEnergyModel(1.5, model.known, model.unknown, 'paper', 1, 1, variable='energy')


def test_no_separating_cut_means_nothing_is_unknown():
    same = WeibullParams(2.0, 0.0, 1.0)
    model = WeibullEnergyModel.fit(-stats.weibull_min(2.0).rvs(500, random_state=0),
                                   -stats.weibull_min(2.0, loc=5.0).rvs(500, random_state=1),
                                   1.5, 'paper')
    # the "unknown" energies are the confident ones here: no cut helps, nothing is unknown
    assert model.threshold == float('inf')
    assert not model.is_unknown(torch.linspace(-20, 20, 41)).any()
    assert same.cdf(np.array([0.0]))[0] == 0.0


def test_save_load_round_trip_and_temperature_check(tmp_path):
    model = WeibullEnergyModel(1.5, WeibullParams(2.0, -10.0, 3.0), WeibullParams(1.2, -5.0, 2.0),
                               'paper', 100, 20)
    path = tmp_path / 'iter_10_weibull.json'
    model.save(str(path))
    assert json.loads(path.read_text())['temperature'] == 1.5
    assert WeibullEnergyModel.load(str(path), 1.5) == model
    # a fit saved before the sign fix (no 'variable') is refused with a clear message
    raw = json.loads(path.read_text())
    del raw['variable']
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match='sign fix'):
        WeibullEnergyModel.load(str(path), 1.5)
    model.save(str(path))
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


def _head_like_energies(n: int, seed: int, confident: bool) -> np.ndarray:
    """Energies of [n, 6] logits shaped like a trained RoI classifier's: one class logit lifted
    by a right-skewed (gamma) margin (confident, known objects: base 2, scale 2; unknown objects:
    base 0, scale 0.7), the others N(0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 6, generator=gen)
    base, scale = (2.0, 2.0) if confident else (0.0, 0.7)
    torch.manual_seed(seed)
    top = base + torch.distributions.Gamma(2.0, 1.0 / scale).sample((n,))
    logits[torch.arange(n), torch.randint(0, 6, (n,), generator=gen)] = top
    return energy_score(logits, 1.5).numpy()


def test_fit_on_head_like_energies_is_not_degenerate():
    # -E = T logsumexp is right-skewed for such heads; E itself is left-skewed and weibull_min
    # fitted to E gives a J-shaped (shape < 1) or near-normal (shape ~1e7) fit
    known, unknown = _head_like_energies(2000, 0, True), _head_like_energies(300, 1, False)
    model = WeibullEnergyModel.fit(known, unknown, 1.5, 'leakage_free')
    for params, energies in ((model.known, known), (model.unknown, unknown)):
        assert 0.5 < params.shape < 20.0, params
        # the fit describes the data (Kolmogorov-Smirnov distance of the negated energies)
        ks = stats.kstest(-energies, 'weibull_min', args=(params.shape, params.loc, params.scale))
        assert ks.statistic < 0.08, (params, ks)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_default_rule_is_monotone_in_the_energy(seed):
    known, unknown = _head_like_energies(2000, seed, True), _head_like_energies(300, seed + 10, False)
    model = WeibullEnergyModel.fit(known, unknown, 1.5, 'leakage_free')
    grid = np.linspace(known.min() - 20.0, unknown.max() + 20.0, 4001)
    decided = model.is_unknown(torch.from_numpy(grid)).numpy()
    # once an energy is unknown, every higher (less confident) energy is unknown too
    first = np.argmax(decided)
    assert decided.any() and decided[first:].all() and not decided[:first].any()
    # energies above every pseudo-unknown are unknown; below every known one, known
    assert model.is_unknown(torch.tensor([unknown.max() + 1.0])).item()
    assert not model.is_unknown(torch.tensor([known.min() - 1.0])).item()

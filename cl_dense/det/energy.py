"""ORE's energy-based unknown identifier (EBUI): free energy of the known-class logits, two
Weibull fits (known / unknown, of the negated energy) and the rule deciding which detections are
relabelled "unknown"."""
from __future__ import annotations

import json
import math
import os.path as osp
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from scipy import stats
from torch import Tensor

PROTOCOLS = ('paper', 'leakage_free')


def energy_score(logits_known: Tensor, temperature: float) -> Tensor:
    """``E = -T * logsumexp(logits_known / T)`` per row.

    Args:
        logits_known: [N, K] logits of the classes known so far (no unknown, no background).
        temperature: T (> 0).

    Returns:
        [N] energies (float32 or wider); low energy = confidently known.
    """
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature!r}')
    if logits_known.dim() != 2 or logits_known.shape[1] == 0:
        raise ValueError(f'logits_known must be [N, K] with K >= 1, got {tuple(logits_known.shape)}')
    logits = logits_known.to(torch.promote_types(logits_known.dtype, torch.float32))
    return -temperature * torch.logsumexp(logits / temperature, dim=1)


@dataclass(frozen=True)
class WeibullParams:
    """A three-parameter Weibull (``scipy.stats.weibull_min(shape, loc, scale)``)."""

    shape: float
    loc: float
    scale: float

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return stats.weibull_min.logpdf(x, self.shape, loc=self.loc, scale=self.scale)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return stats.weibull_min.cdf(x, self.shape, loc=self.loc, scale=self.scale)

    def ppf(self, q: float) -> float:
        return float(stats.weibull_min.ppf(q, self.shape, loc=self.loc, scale=self.scale))


RULES = ('threshold', 'density')
LOC_OFFSETS = (0.05, 0.1, 0.25, 0.5)


def fit_weibull(values: np.ndarray) -> WeibullParams:
    """A three-parameter ``weibull_min`` fit of ``values`` [n] that does not degenerate.

    The free-location maximum likelihood fit has an unbounded likelihood when the shape drops
    below 1 (it then puts ``loc`` on the sample minimum with a J-shaped density that describes
    the data badly). Candidates: the free fit, and fits with ``loc`` fixed at
    ``min - c * std`` for each ``c`` in ``LOC_OFFSETS``; the one with the smallest
    Kolmogorov-Smirnov distance to ``values`` is returned.
    """
    spread = float(values.std()) or 1.0
    candidates = [stats.weibull_min.fit(values)]
    candidates += [stats.weibull_min.fit(values, floc=float(values.min()) - c * spread)
                   for c in LOC_OFFSETS]
    best = min(candidates, key=lambda params: stats.kstest(values, 'weibull_min', args=params).statistic)
    return WeibullParams(*(float(v) for v in best))
FIT_VARIABLE = 'negated_energy'


def youden_threshold(known: WeibullParams, unknown: WeibullParams, num: int = 4001) -> float:
    """The negated energy ``s*`` that best separates the two fits with one cut ``s < s*``.

    Maximises ``F_unknown(s) - F_known(s)`` (Youden's J of the fitted CDFs; where the densities
    cross once between the modes this is the crossing point) over ``num`` points spanning the
    0.1 % to 99.9 % quantiles of both fits.

    Returns:
        ``s*``, or ``-inf`` when no cut puts more unknown than known mass below it (nothing is
        unknown then).
    """
    grid = np.linspace(min(known.ppf(1e-3), unknown.ppf(1e-3)),
                       max(known.ppf(1 - 1e-3), unknown.ppf(1 - 1e-3)), num)
    gain = unknown.cdf(grid) - known.cdf(grid)
    best = int(np.argmax(gain))
    return float(grid[best]) if gain[best] > 0 else float('-inf')


@dataclass(frozen=True)
class WeibullEnergyModel:
    """Weibull fits of the *negated* energies ``s = -E = T logsumexp(logits / T)`` of known and
    unknown RoIs, and the rule that turns them into an unknown / known decision.

    The negation is ORE's (its code stores ``+T logsumexp``): confident detections have a large,
    right-skewed ``s`` that ``scipy.stats.weibull_min`` fits well, whereas ``E`` itself is
    left-skewed and its fit degenerates. Energies in and out (:meth:`is_unknown`) are ``E`` as
    :func:`energy_score` computes them; the negation is internal.

    Rules (``rule``):

    - ``'threshold'`` (default, monotone): unknown when ``E > threshold`` (``threshold = -s*``,
      :func:`youden_threshold` of the fits);
    - ``'density'`` (ORE's form): unknown when the unknown fit's density of ``s`` exceeds the
      known fit's (not monotone in ``E``; outside both supports: known).

    Attributes:
        temperature: the T of :func:`energy_score` used for the fit; the model refuses energies
            from another T (:meth:`load` checks it).
        known, unknown: the two fits (of ``s``).
        protocol: ``'paper'`` (unknown energies from a split with unknown labels) or
            ``'leakage_free'`` (known-only annotations; unknown energies from auto-labelled
            proposals).
        num_known, num_unknown: energies each fit used.
        rule: the decision rule (above).
        threshold: the energy cut of the ``'threshold'`` rule (``inf``: nothing is unknown).
        variable: what was fitted; always ``'negated_energy'`` (fits saved before the sign fix
            lack it and are refused).
    """

    temperature: float
    known: WeibullParams
    unknown: WeibullParams
    protocol: str
    num_known: int
    num_unknown: int
    rule: str = 'threshold'
    threshold: float = float('inf')
    variable: str = FIT_VARIABLE

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f'rule must be one of {RULES}, got {self.rule!r}')
        if self.variable != FIT_VARIABLE:
            raise ValueError(f'a Weibull fit of {self.variable!r} cannot be used: the fits are of '
                             f'{FIT_VARIABLE!r}; refit with tools/analysis_tools/fit_ore_weibull.py')

    @classmethod
    def fit(cls, known_energies: np.ndarray, unknown_energies: np.ndarray, temperature: float,
            protocol: str, rule: str = 'threshold') -> 'WeibullEnergyModel':
        """``scipy.stats.weibull_min`` fits (shape, loc, scale; :func:`fit_weibull`) of the negated
        energies of each set, and the threshold of the monotone rule.

        Args:
            known_energies, unknown_energies: [n], [m] energies ``E`` (:func:`energy_score`).
            temperature: their T.
            protocol: ``'paper'`` or ``'leakage_free'``.
            rule: the decision rule stored with the fit (``'threshold'`` or ``'density'``).

        Raises:
            ValueError: an unknown protocol or rule, or fewer than 3 finite energies in a set.
        """
        if protocol not in PROTOCOLS:
            raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
        fits = []
        for name, values in (('known', known_energies), ('unknown', unknown_energies)):
            values = np.asarray(values, dtype=np.float64).ravel()
            if values.size < 3 or not np.isfinite(values).all():
                raise ValueError(f'the Weibull fit needs at least 3 finite {name} energies, got '
                                 f'{values.size} (non-finite: {int((~np.isfinite(values)).sum())})')
            fits.append(fit_weibull(-values))
        return cls(float(temperature), fits[0], fits[1], protocol, int(np.size(known_energies)),
                   int(np.size(unknown_energies)), rule, -youden_threshold(fits[0], fits[1]))

    def with_rule(self, rule: str) -> 'WeibullEnergyModel':
        """The same fit deciding with another rule."""
        return replace(self, rule=rule)

    def is_unknown(self, energies: Tensor) -> Tensor:
        """[N] bool decision for energies ``E`` [N] (see the class docstring for the rules)."""
        x = energies.detach().double().cpu().numpy()
        if self.rule == 'threshold':
            unknown = x > self.threshold
        else:
            unknown = self.unknown.logpdf(-x) > self.known.logpdf(-x)
        return torch.from_numpy(unknown).to(energies.device)

    def save(self, path: str) -> None:
        """Write the fit as a small JSON file."""
        with open(path, 'w') as f:
            json.dump(asdict(self), f, indent=2)

    @classmethod
    def load(cls, path: str, temperature: float) -> 'WeibullEnergyModel':
        """Read a fit written by :meth:`save`.

        Raises:
            FileNotFoundError: no file at ``path`` (the message says how to make one).
            ValueError: the fit was made with another temperature than ``temperature``, or
                before the sign fix (no ``variable``: it fitted ``E`` instead of ``-E``).
        """
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'the energy-based unknown identifier is switched on but its Weibull fit '
                f'{path!r} does not exist; fit it with `python tools/analysis_tools/'
                f'fit_ore_weibull.py CONFIG CHECKPOINT` or switch it off with ebui.mode=off')
        with open(path) as f:
            raw = json.load(f)
        if 'variable' not in raw:
            raise ValueError(f'the Weibull fit {path!r} was made before the energy sign fix (it '
                             'fitted E, not -E): refit it with tools/analysis_tools/fit_ore_weibull.py')
        raw['known'], raw['unknown'] = WeibullParams(**raw['known']), WeibullParams(**raw['unknown'])
        model = cls(**raw)
        if not math.isclose(model.temperature, temperature, rel_tol=1e-9):
            raise ValueError(f'the Weibull fit {path!r} was made with temperature '
                             f'{model.temperature} but the model uses {temperature}: refit it '
                             'with the same temperature')
        return model


def weibull_path_for(checkpoint: str) -> str:
    """Where the fit of a checkpoint lives: next to it, ``<checkpoint stem>_weibull.json``."""
    return osp.splitext(checkpoint)[0] + '_weibull.json'

"""ORE's energy-based unknown identifier (EBUI): free energy of the known-class logits and two
Weibull fits (known / unknown) deciding which detections are relabelled "unknown"."""
from __future__ import annotations

import json
import math
import os.path as osp
from dataclasses import asdict, dataclass

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


@dataclass(frozen=True)
class WeibullEnergyModel:
    """Weibull fits of known and unknown energies, and the temperature they were computed with.

    A detection is unknown when ``logpdf_unknown(E) > logpdf_known(E)``; an energy outside both
    supports (both densities 0) stays known.

    Attributes:
        temperature: the T of :func:`energy_score` used for the fit; the model refuses energies
            from another T (:meth:`load` checks it).
        known, unknown: the two fits.
        protocol: ``'paper'`` (unknown energies from a split with unknown labels) or
            ``'leakage_free'`` (known-only annotations; unknown energies from auto-labelled
            proposals).
        num_known, num_unknown: energies each fit used.
    """

    temperature: float
    known: WeibullParams
    unknown: WeibullParams
    protocol: str
    num_known: int
    num_unknown: int

    @classmethod
    def fit(cls, known_energies: np.ndarray, unknown_energies: np.ndarray, temperature: float,
            protocol: str) -> 'WeibullEnergyModel':
        """Maximum-likelihood fits of ``scipy.stats.weibull_min`` (shape, loc, scale) to each set.

        Raises:
            ValueError: an unknown protocol, or fewer than 3 finite energies in a set.
        """
        if protocol not in PROTOCOLS:
            raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
        fits = []
        for name, values in (('known', known_energies), ('unknown', unknown_energies)):
            values = np.asarray(values, dtype=np.float64).ravel()
            if values.size < 3 or not np.isfinite(values).all():
                raise ValueError(f'the Weibull fit needs at least 3 finite {name} energies, got '
                                 f'{values.size} (non-finite: {int((~np.isfinite(values)).sum())})')
            fits.append(WeibullParams(*(float(v) for v in stats.weibull_min.fit(values))))
        return cls(float(temperature), fits[0], fits[1], protocol, int(np.size(known_energies)),
                   int(np.size(unknown_energies)))

    def is_unknown(self, energies: Tensor) -> Tensor:
        """[N] bool: energies [N] more likely under the unknown fit than under the known one."""
        x = energies.detach().double().cpu().numpy()
        unknown = self.unknown.logpdf(x) > self.known.logpdf(x)
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
            ValueError: the fit was made with another temperature than ``temperature``.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'the energy-based unknown identifier is switched on but its Weibull fit '
                f'{path!r} does not exist; fit it with `python tools/analysis_tools/'
                f'fit_ore_weibull.py CONFIG CHECKPOINT` or switch it off with ebui.mode=off')
        with open(path) as f:
            raw = json.load(f)
        model = cls(raw['temperature'], WeibullParams(**raw['known']),
                    WeibullParams(**raw['unknown']), raw['protocol'], raw['num_known'],
                    raw['num_unknown'])
        if not math.isclose(model.temperature, temperature, rel_tol=1e-9):
            raise ValueError(f'the Weibull fit {path!r} was made with temperature '
                             f'{model.temperature} but the model uses {temperature}: refit it '
                             'with the same temperature')
        return model


def weibull_path_for(checkpoint: str) -> str:
    """Where the fit of a checkpoint lives: next to it, ``<checkpoint stem>_weibull.json``."""
    return osp.splitext(checkpoint)[0] + '_weibull.json'

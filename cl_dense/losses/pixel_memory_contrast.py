"""Pixel-to-pixel and pixel-to-region contrast against class memory banks (ContrastiveSeg)."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..memory import ClassMemoryBank
from ..ops import region_means, sample_pixels_per_region
from ..samplers import mine_semi_hard_keys
from .pixel_base import PixelContrastBase
from .precision import float32_maths
from .registry import register_loss

BANKS = ('pixel', 'region')
FILL_STATS = ('summary', 'per_class')
MINING_DEFAULTS = dict(num_positives=1024, num_negatives=1024, candidate_ratio=0.1)


def check_memory_args(banks: Sequence[str], memory_size: int, pixel_update_freq: int,
                      in_batch_weight: float, mining: Optional[dict], fill_stats: str) -> None:
    """Raise ``ValueError`` naming the first bad memory-specific constructor argument."""
    if not banks or any(b not in BANKS for b in banks) or len(set(banks)) != len(banks):
        raise ValueError(f'banks must be a non-empty subset of {BANKS}, got {banks!r}')
    if memory_size < 1 or pixel_update_freq < 1:
        raise ValueError(f'memory_size ({memory_size}) and pixel_update_freq '
                         f'({pixel_update_freq}) must be >= 1')
    if in_batch_weight < 0:
        raise ValueError(f'in_batch_weight must be >= 0, got {in_batch_weight}')
    if mining is not None and set(mining) - set(MINING_DEFAULTS):
        raise ValueError(f'unknown mining keys {sorted(set(mining) - set(MINING_DEFAULTS))}; '
                         f'expected some of {sorted(MINING_DEFAULTS)}')
    if fill_stats not in FILL_STATS:
        raise ValueError(f'fill_stats must be one of {FILL_STATS}, got {fill_stats!r}')


@register_loss
class PixelMemoryContrastLoss(PixelContrastBase):
    """Contrast of sampled anchor pixels against a pixel bank and a region (segment) bank.

    Per call: (1) anchors are drawn from the batch with ContrastiveSeg's hard/easy sampling;
    (2) they are contrasted (:func:`cl_dense.ops.supervised_contrast`) against the filled slots of
    the banks (one key set: pixel-to-pixel and pixel-to-region contrast), optionally only against
    semi-hard mined keys (:func:`cl_dense.samplers.mine_semi_hard_keys`), plus an optional in-batch
    term among the anchors; (3) after the loss, detached keys are pushed: up to
    ``pixel_update_freq`` random pixels per (image, class) into the pixel bank and the
    L2-normalised mean embedding per (image, class) into the region bank. Banks are
    :class:`cl_dense.memory.ClassMemoryBank` submodules, so they are persistent buffers (in the
    state_dict and checkpoints) and stay identical across ranks (``push`` all-gathers).
    Only ``ignore_index`` is ignored: class 0 is a class. An empty bank or a batch without a
    candidate class gives a zero loss with a gradient path.

    Args:
        num_classes: C; labels must lie in ``[0, C)`` or equal ``ignore_index``.
        proj_dim: embedding dimension D of the banks (the projection head's ``proj_dim``).
        memory_size: slots per class and bank, Q.
        pixel_update_freq: pixels pushed per (image, class) per call.
        banks: which banks to keep and contrast with, a subset of ``('pixel', 'region')``.
        temperature, base_temperature: t and t_b (the loss is scaled by t / t_b).
        max_samples, max_views: hard/easy anchor sampling (see ``PixelContrastLoss``).
        in_batch_weight: weight of an added in-batch term (anchors against each other); 0 = off.
        mining: ``None`` (contrast with every filled slot) or semi-hard mining,
            ``dict(num_positives=1024, num_negatives=1024, candidate_ratio=0.1)`` (those are the
            defaults of missing keys): per anchor class,
            draw that many keys at random among the hardest ``candidate_ratio`` of the positives
            (least similar) and of the negatives (most similar).
        denominator: ``'contrastiveseg'`` or ``'supcon'``.
        ignore_index: label of unlabelled pixels.
        loss_weight: factor on the loss.
        loss_name: dict key of the loss, must start with ``loss_``; diagnostics use the rest of the
            name as prefix.
        fill_stats: ``'summary'`` logs the mean and the minimum over classes of each bank's fill
            fraction (``<prefix>_<bank>_fill``, ``<prefix>_<bank>_fill_min``); ``'per_class'``
            logs one fraction per class instead (``<prefix>_<bank>_fill_c<k>``).
        threshold: foreground probability of a single-channel (binary, ``out_channels=1``)
            decode head's sigmoid above which a pixel counts as predicted foreground for the
            hard/easy split; the contrast segmentors set it to the head's ``threshold``
            (mmseg's default 0.3).

    Buffers (state_dict): ``pixel_bank.*`` and/or ``region_bank.*`` (feats [C, Q, D], ptr [C],
    count [C]).

    Config example::

        dict(type='PixelMemoryContrastLoss', num_classes=19, proj_dim=256, memory_size=5000,
             pixel_update_freq=10, temperature=0.07, base_temperature=0.07, max_views=1,
             loss_weight=1.0, mining=dict(num_positives=512, num_negatives=1024))
    """

    def __init__(self, num_classes: int, proj_dim: int = 256, memory_size: int = 5000,
                 pixel_update_freq: int = 10, banks: Sequence[str] = BANKS,
                 temperature: float = 0.07, base_temperature: float = 0.07,
                 max_samples: int = 1024, max_views: int = 1, in_batch_weight: float = 0.0,
                 mining: Optional[dict] = None, denominator: str = 'contrastiveseg',
                 ignore_index: int = 255, loss_weight: float = 1.0,
                 loss_name: str = 'loss_contrast', fill_stats: str = 'summary',
                 threshold: float = 0.3) -> None:
        super().__init__(num_classes, temperature, base_temperature, max_samples, max_views,
                         denominator, ignore_index, loss_weight, loss_name, threshold)
        banks = tuple(banks)
        check_memory_args(banks, memory_size, pixel_update_freq, in_batch_weight, mining,
                          fill_stats)
        self.proj_dim = proj_dim
        self.pixel_update_freq = pixel_update_freq
        self.banks = banks
        self.in_batch_weight = in_batch_weight
        self.mining = None if mining is None else {**MINING_DEFAULTS, **mining}
        self.fill_stats = fill_stats
        for name in banks:
            self.add_module(f'{name}_bank', ClassMemoryBank(num_classes, memory_size, proj_dim,
                                                               ignore_index))

    def bank(self, name: str) -> ClassMemoryBank:
        """The ``'pixel'`` or ``'region'`` bank."""
        return getattr(self, f'{name}_bank')

    @float32_maths
    def forward(self, embeddings: Tensor, seg_labels: Tensor, seg_logits: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None,
                compute_loss: bool = True) -> Dict[str, Tensor]:
        """Compute the weighted loss (in float32, also inside an autocast region), then push
        this batch's keys into the banks.

        Args:
            embeddings: [N, D, h, w] L2-normalised pixel embeddings.
            seg_labels: [N, H, W] or [N, 1, H, W] ground truth (nearest-resized to h, w).
            seg_logits: [N, K, H', W'] decode logits for hard/easy sampling, or ``None``.
            generator: source of sampling randomness (``None``: global generator).
            compute_loss: ``False`` skips the contrast maths (zero loss with a gradient path) but
                still pushes the keys, so that banks are full when a warm-up ends.

        Returns:
            ``{loss_name: scalar, '<prefix>_anchors', '<prefix>_hard_share', '<prefix>_keys', fill
            statistics}``, the diagnostics as float scalars: anchors sampled, share of them the
            decode head misclassifies, filled bank slots available as keys
            (before this call's push; with mining, the pool the keys are mined from) and the
            fill fractions after the push.
        """
        if embeddings.dim() == 4 and embeddings.shape[1] != self.proj_dim:
            raise ValueError(f'embeddings have {embeddings.shape[1]} channels, the banks '
                             f'proj_dim={self.proj_dim}')
        batch = self.sample(embeddings, seg_labels, seg_logits, generator)
        anchors, anchor_labels = batch.anchors, batch.anchor_labels
        keys, key_labels = self._bank_keys()
        if not compute_loss:
            loss = anchors.sum() * 0.0
        elif self.mining is None:
            loss = self.contrast(anchors, anchor_labels, keys, key_labels)
        else:
            loss = self._mined_contrast(anchors, anchor_labels, keys, key_labels, generator)
        if self.in_batch_weight and compute_loss:
            loss = loss + self.in_batch_weight * self.self_contrast(anchors, anchor_labels)
        self._push(batch.embeddings.detach(), batch.labels, generator)
        outputs = {self.loss_name: self.loss_weight * loss, **self.diagnostics(batch),
                   f'{self.prefix}_keys': keys.new_tensor(float(key_labels.numel()))}
        outputs.update(self._fill_diagnostics())
        return outputs

    def _bank_keys(self) -> Tuple[Tensor, Tensor]:
        """Filled slots of all banks: keys [M, D] and labels [M]."""
        parts = [self.bank(name).keys() for name in self.banks]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _mined_contrast(self, anchors: Tensor, anchor_labels: Tensor, keys: Tensor,
                        key_labels: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        """Mean over anchors with a positive of each anchor's loss against its class's mined keys.

        One contrast call per anchor class present (anchors sorted by class; two host syncs).
        """
        classes, key_index, key_valid = mine_semi_hard_keys(
            anchors, anchor_labels, keys, key_labels, self.mining['num_positives'],
            self.mining['num_negatives'], self.mining['candidate_ratio'], self.ignore_index,
            generator)
        mined_labels = torch.where(key_valid, key_labels[key_index], self.ignore_index)
        has_positive = (mined_labels == classes[:, None]).any(1)
        order = torch.sort(anchor_labels, stable=True).indices
        anchors, anchor_labels = anchors[order], anchor_labels[order]
        _, counts = torch.unique_consecutive(anchor_labels, return_counts=True)
        table = torch.stack([counts, has_positive.long()], 1).tolist()
        total, used, start = anchors.sum() * 0.0, 0, 0
        for row, (count, usable) in enumerate(table):
            if usable:
                rows = slice(start, start + count)
                total = total + count * self.contrast(anchors[rows], anchor_labels[rows],
                                                       keys[key_index[row]], mined_labels[row])
                used += count
            start += count
        return total / max(used, 1)

    def _push(self, embeddings: Tensor, labels: Tensor,
              generator: Optional[torch.Generator]) -> None:
        """Enqueue detached keys of embeddings [N, D, h, w] with labels [N, h, w], both checked
        by ``sample`` (so the ops and banks skip their own data checks)."""
        if 'pixel' in self.banks:
            feats, pixel_labels, _ = sample_pixels_per_region(
                embeddings, labels, self.pixel_update_freq, self.num_classes, self.ignore_index,
                generator, validate=False)
            self.pixel_bank.push(feats, pixel_labels, validate=False)
        if 'region' in self.banks:
            means, region_labels, _ = region_means(embeddings, labels, self.num_classes,
                                                   self.ignore_index, validate=False)
            self.region_bank.push(means, region_labels, validate=False)

    def _fill_diagnostics(self) -> Dict[str, Tensor]:
        """Fill fractions of the banks, as float scalars (see ``fill_stats``)."""
        stats: Dict[str, Tensor] = {}
        for name in self.banks:
            bank = self.bank(name)
            fill = bank.count.float() / bank.size
            key = f'{self.prefix}_{name}_fill'
            if self.fill_stats == 'summary':
                stats[key], stats[f'{key}_min'] = fill.mean(), fill.min()
            else:
                stats.update({f'{key}_c{c}': fill[c] for c in range(self.num_classes)})
        return stats

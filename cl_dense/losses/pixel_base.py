"""Shared base of the pixel contrast losses: arguments, input handling, anchor sampling."""
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from ..ops import DENOMINATORS, supervised_contrast
from ..samplers import sample_hard_easy_anchors
from .pixel_inputs import pixels_at_embedding_size
from .registry import check_loss_name


class SampledPixels(NamedTuple):
    """A batch at embedding resolution and its anchors.

    embeddings: [N, D, h, w] float32; labels: [N, h, w] long; anchors: [A, D] (pixels of
    embeddings, differentiable); anchor_labels: [A] long; hard_share: float scalar, the share of
    anchors that the decode head misclassifies (0 without logits or anchors).
    """

    embeddings: Tensor
    labels: Tensor
    anchors: Tensor
    anchor_labels: Tensor
    hard_share: Tensor


class PixelContrastBase(nn.Module):
    """Arguments and anchor sampling common to :class:`PixelContrastLoss` and
    :class:`PixelMemoryContrastLoss` (see those for the meaning of each argument)."""

    def __init__(self, num_classes: int, temperature: float, base_temperature: float,
                 max_samples: int, max_views: int, denominator: str, ignore_index: int,
                 loss_weight: float, loss_name: str, threshold: float = 0.3) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if temperature <= 0 or base_temperature <= 0:
            raise ValueError(f'temperature ({temperature}) and base_temperature '
                             f'({base_temperature}) must be > 0')
        if max_samples < 1 or max_views < 1:
            raise ValueError(f'max_samples ({max_samples}) and max_views ({max_views}) must be '
                             '>= 1')
        if denominator not in DENOMINATORS:
            raise ValueError(f'denominator must be one of {DENOMINATORS}, got {denominator!r}')
        check_loss_name(loss_name)
        if not 0 < threshold < 1:
            raise ValueError(f'threshold must lie in (0, 1), got {threshold}')
        self.num_classes = num_classes
        self.temperature = temperature
        self.base_temperature = base_temperature
        self.max_samples = max_samples
        self.max_views = max_views
        self.denominator = denominator
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.loss_name = loss_name
        self.threshold = threshold

    def diagnostics(self, batch: SampledPixels) -> dict[str, Tensor]:
        """Anchor statistics logged beside the loss: ``<prefix>_anchors`` (count) and
        ``<prefix>_hard_share`` (share of misclassified anchors), as float scalars."""
        return {f'{self.prefix}_anchors': batch.anchors.new_tensor(float(batch.anchor_labels.numel())),
                f'{self.prefix}_hard_share': batch.hard_share.detach()}

    @property
    def prefix(self) -> str:
        """Prefix of the diagnostic keys: ``loss_name`` without ``loss_`` (``contrast``)."""
        return self.loss_name[len('loss_'):]

    def sample(self, embeddings: Tensor, seg_labels: Tensor, seg_logits: Optional[Tensor],
               generator: Optional[torch.Generator]) -> SampledPixels:
        """Resize, flatten and check the inputs (the call's one data check, see
        ``pixels_at_embedding_size``), then draw hard/easy anchors.

        Args:
            embeddings: [N, D, h, w]; seg_labels: [N, (1,) H, W]; seg_logits: [N, K, H', W'] or
            ``None``; generator: sampling randomness.
        """
        embeddings, labels, preds = pixels_at_embedding_size(
            embeddings, seg_labels, seg_logits, self.num_classes, self.ignore_index,
            self.threshold)
        num, dim = embeddings.shape[:2]
        index, anchor_labels = sample_hard_easy_anchors(
            labels.reshape(num, -1), None if preds is None else preds.reshape(num, -1),
            self.num_classes, self.max_samples, self.max_views, self.ignore_index, generator,
            validate=False)
        anchors = embeddings.flatten(2).transpose(1, 2).reshape(-1, dim)[index]
        if preds is None or index.numel() == 0:
            hard_share = embeddings.new_zeros(())
        else:
            hard_share = (preds.reshape(-1)[index] != anchor_labels).float().mean()
        return SampledPixels(embeddings, labels, anchors, anchor_labels, hard_share)

    def self_contrast(self, anchors: Tensor, anchor_labels: Tensor) -> Tensor:
        """In-batch term: anchors [A, D] against each other (pairs (i, i) skipped); the anchors
        come from checked embeddings (``sample``)."""
        return supervised_contrast(anchors, anchor_labels, None, None, self.temperature,
                                   self.base_temperature, self.denominator, self.ignore_index,
                                   self_contrast=True, validate=False)

    def contrast(self, anchors: Tensor, anchor_labels: Tensor, keys: Tensor,
                 key_labels: Tensor) -> Tensor:
        """Anchors [A, D] against a separate key set [M, D], both already checked (anchors by
        ``sample``, bank keys when they were pushed)."""
        return supervised_contrast(anchors, anchor_labels, keys, key_labels, self.temperature,
                                   self.base_temperature, self.denominator, self.ignore_index,
                                   validate=False)

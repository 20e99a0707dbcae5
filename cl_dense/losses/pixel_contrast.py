"""In-batch pixel-to-pixel contrast (ContrastiveSeg, Wang et al. ICCV 2021)."""
from typing import Dict, Optional

import torch
from torch import Tensor

from .pixel_base import PixelContrastBase
from .precision import float32_maths
from .registry import register_loss


@register_loss
class PixelContrastLoss(PixelContrastBase):
    """Supervised contrast among anchor pixels sampled from the batch (hard/easy sampling).

    Anchors are drawn with :func:`cl_dense.samplers.sample_hard_easy_anchors` from the pixels at
    embedding resolution (labels nearest-resized to the embedding size, predictions = argmax of
    the decode logits resized to it); every anchor is contrasted with all other anchors
    (:func:`cl_dense.ops.supervised_contrast` in self-contrast mode). Only ``ignore_index`` is
    ignored: class 0 is a class. A batch without a candidate class gives a zero loss that still
    has a gradient path.

    Args:
        num_classes: C; labels must lie in ``[0, C)`` or equal ``ignore_index`` (else
            ``ValueError``).
        temperature: t.
        base_temperature: t_b (the loss is scaled by t / t_b).
        max_samples: anchor budget per batch.
        max_views: most anchors per (image, class); a class needs more pixels than this.
        denominator: ``'contrastiveseg'`` (each positive against itself plus the negatives) or
            ``'supcon'`` (against all other keys).
        ignore_index: label of unlabelled pixels.
        loss_weight: factor on the loss.
        loss_name: dict key of the loss; must start with ``loss_``. Diagnostics use the rest of the
            name as prefix (``loss_contrast`` -> ``contrast_anchors``).
        threshold: foreground probability of a single-channel (binary, ``out_channels=1``)
            decode head's sigmoid above which a pixel counts as predicted foreground for the
            hard/easy split; the contrast segmentors set it to the head's ``threshold``
            (mmseg's default 0.3).

    Config example (``num_classes`` / ``ignore_index`` may be left to ``ContrastEncoderDecoder``)::

        dict(type='PixelContrastLoss', num_classes=19, temperature=0.1, base_temperature=0.07,
             max_samples=1024, max_views=100, loss_weight=0.1)
    """

    def __init__(self, num_classes: int, temperature: float = 0.1, base_temperature: float = 0.07,
                 max_samples: int = 1024, max_views: int = 100,
                 denominator: str = 'contrastiveseg', ignore_index: int = 255,
                 loss_weight: float = 0.1, loss_name: str = 'loss_contrast',
                 threshold: float = 0.3) -> None:
        super().__init__(num_classes, temperature, base_temperature, max_samples, max_views,
                         denominator, ignore_index, loss_weight, loss_name, threshold)

    @float32_maths
    def forward(self, embeddings: Tensor, seg_labels: Tensor, seg_logits: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None,
                compute_loss: bool = True) -> Dict[str, Tensor]:
        """Compute the weighted loss (in float32, also inside an autocast region).

        Args:
            embeddings: [N, D, h, w] L2-normalised pixel embeddings.
            seg_labels: [N, H, W] or [N, 1, H, W] ground truth (any H, W; nearest-resized).
            seg_logits: [N, K, H', W'] decode logits for hard/easy sampling, or ``None``
                (uniform sampling).
            generator: source of sampling randomness (``None``: global generator).
            compute_loss: ``False`` skips the contrast maths and returns a zero loss that keeps a
                gradient path (the warm-up of ``ContrastEncoderDecoder``).

        Returns:
            ``{loss_name: scalar, '<prefix>_anchors', '<prefix>_hard_share'}`` (diagnostics as
            float scalars: anchors sampled, share of them the decode head misclassifies).
        """
        batch = self.sample(embeddings, seg_labels, seg_logits, generator)
        if compute_loss:
            loss = self.self_contrast(batch.anchors, batch.anchor_labels)
        else:
            loss = batch.anchors.sum() * 0.0
        return {self.loss_name: self.loss_weight * loss, **self.diagnostics(batch)}

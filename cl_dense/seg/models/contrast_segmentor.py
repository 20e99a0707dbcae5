"""The training-only pixel contrast branch as a mixin for any mmseg segmentor class.

:class:`PixelContrastMixin` wraps the base class's own ``loss``: it runs it unchanged while
recording the features ``extract_feat`` returned and what each decode head's ``forward`` returned,
then adds the contrast terms. :func:`with_pixel_contrast` makes the subclass for a segmentor class
(refusing the mmseg classes that cannot take the branch); ``ContrastSegmentor`` builds one from a
config.
"""
import contextlib
import inspect
import logging
from typing import Any, Dict, Iterator, List, Optional, Sequence, Type

import torch
from mmengine.dist import get_rank
from mmengine.logging import print_log
from mmseg.models.segmentors import (BaseSegmentor, DepthEstimator, MultimodalEncoderDecoder,
                                     SegTTAModel)
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor, nn

from .decode_outputs import main_seg_logits

# mmseg 1.2.2 segmentor classes the branch cannot attach to, and why.
UNSUPPORTED: Dict[type, str] = {
    DepthEstimator: 'it trains on gt_depth_map, not on gt_sem_seg',
    MultimodalEncoderDecoder: (
        'its loss never calls extract_feat (the CLIP image encoder runs on rescaled images '
        'inside loss, and the SAN head classifies masks against text embeddings), so there is no '
        'feature map at a known stride to embed'),
    SegTTAModel: ('it is a test-time augmentation wrapper, not a trainer: add the contrast '
                  'branch to the segmentor it wraps (its `module`)'),
}


class _TrainingOutputs:
    """What one ``loss`` call of the base segmentor computed: ``extract_feat`` results and the
    last ``forward`` output of each decode head (in ``decode_heads`` order)."""

    def __init__(self, num_heads: int) -> None:
        self.features: List[Sequence[Tensor]] = []
        self.head_outputs: List[Any] = [None] * num_heads


class PixelContrastMixin:
    """Training-only pixel contrast branch for an mmseg segmentor; put it first in the bases.

    ``loss`` calls the base class's ``loss`` unchanged, then a projection head embeds the
    ``extract_feat`` features of that call (backbone, or neck when there is one) and the contrast
    loss receives the embeddings, the ground truth and the decode logits of the same forward pass
    (detached, for hard/easy anchor sampling; the loss nearest-resizes the labels to the embedding
    size). Logits come from the decode heads' training ``forward`` outputs (recorded by wrapping
    each head's ``forward`` for the duration of ``loss``; the heads are not edited):

    - a cascade (``CascadeEncoderDecoder``: OCRNet, PointRend) uses the last head whose output is
      a per-pixel map: OCRNet's OCR head; for PointRend the coarse head, since the point head
      outputs logits at sampled points only;
    - heads returning several outputs in training give their main logits (DDRNet, PIDNet, K-Net,
      EncNet: :data:`cl_dense.seg.models.decode_outputs.MAIN_OUTPUT_INDEX`);
    - mask-classification heads (Mask2Former, MaskFormer) give per-pixel class scores of the last
      decoder layer, computed as their ``predict`` does;
    - when no head produced a per-pixel map (a head whose ``loss`` does not call ``forward``),
      anchors are sampled from the labels alone (at random, no hard/easy split) and a warning is
      logged once.

    ``predict`` and ``_forward`` are the base class's, untouched: inference gives the same output
    at the same cost as the base segmentor with the same weights; the projection head never runs.

    Warm-up: the model counts its training steps in a persistent buffer ``contrast_iter`` (one per
    ``loss`` call). The contrast term is 0 during the first ``contrast_warmup_iters`` steps
    (runner iteration ``i``, 0-based, is active when ``i >= contrast_warmup_iters``). During
    warm-up the loss is called with ``compute_loss=False``: it still samples and pushes keys, so
    memory banks are full when the term switches on, and its zero keeps a gradient path through
    the projection head (DDP sees every parameter used). Sampling randomness comes from a
    generator seeded with ``(torch.initial_seed(), contrast_iter, rank)``, so a resumed run draws
    what an uninterrupted run draws.

    Args:
        contrast_head: config of the projection head (``ContrastProjectionHead``).
        contrast_loss: config of the contrast loss (``PixelContrastLoss``,
            ``PixelMemoryContrastLoss``), called as ``loss(embeddings, seg_labels, seg_logits,
            generator=..., compute_loss=...)``. ``num_classes``, ``ignore_index`` and
            ``threshold`` (binary heads) default to the last decode head's.
        contrast_warmup_iters: training steps with the contrast terms switched off.
        **kwargs: the base segmentor's arguments.

    Logged keys (besides the base losses): the loss's ``loss_*`` key, its diagnostics
    (``contrast_anchors``, ``contrast_keys``, ...) and ``contrast_active`` (0 or 1).
    """

    def __init_subclass__(cls, **kwargs) -> None:
        """A class ``(PixelContrastMixin, Base)`` is checked (``TypeError`` for an unsupported
        ``Base``) and becomes what :func:`with_pixel_contrast` returns for ``Base``."""
        super().__init_subclass__(**kwargs)
        if len(cls.__bases__) == 2 and cls.__bases__[0] is PixelContrastMixin:
            check_supported(cls.__bases__[1])
            _SUBCLASSES.setdefault(cls.__bases__[1], cls)

    def __init__(self, contrast_head: ConfigType, contrast_loss: ConfigType,
                 contrast_warmup_iters: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        if contrast_warmup_iters < 0:
            raise ValueError(f'contrast_warmup_iters must be >= 0, got {contrast_warmup_iters}')
        self.contrast_head = MODELS.build(contrast_head)
        self.contrast_loss = MODELS.build(self._fill_loss_defaults(contrast_loss))
        head_dim = getattr(self.contrast_head, 'proj_dim', None)
        loss_dim = getattr(self.contrast_loss, 'proj_dim', None)
        if head_dim is not None and loss_dim is not None and head_dim != loss_dim:
            raise ValueError(f'contrast_head proj_dim ({head_dim}) differs from the contrast '
                             f'loss proj_dim ({loss_dim})')
        self.contrast_warmup_iters = contrast_warmup_iters
        self.register_buffer('contrast_iter', torch.zeros((), dtype=torch.long))
        self._contrast_record: Optional[_TrainingOutputs] = None
        self._contrast_warned = False

    @property
    def decode_heads(self) -> List[nn.Module]:
        """The decode head(s) in order (several for a cascade)."""
        head = self.decode_head
        return list(head) if isinstance(head, nn.ModuleList) else [head]

    def _fill_loss_defaults(self, cfg: ConfigType) -> dict:
        """Copy of ``cfg`` with ``num_classes`` / ``ignore_index`` / ``threshold`` taken from the
        last decode head when the loss class accepts them, ``cfg`` does not set them and the
        head has them (not ``None``)."""
        cfg = dict(cfg)
        loss_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
        if loss_cls is None:
            raise ValueError(f'contrast_loss type {cfg["type"]!r} is not registered; import '
                             'cl_dense.losses (custom_imports) first')
        params = inspect.signature(loss_cls).parameters
        head = self.decode_heads[-1]
        for key in ('num_classes', 'ignore_index', 'threshold'):
            if key in params and getattr(head, key, None) is not None:
                cfg.setdefault(key, getattr(head, key))
        return cfg

    def extract_feat(self, inputs: Tensor, *args, **kwargs) -> Sequence[Tensor]:
        """The base class's ``extract_feat``; recorded while ``loss`` runs."""
        feats = super().extract_feat(inputs, *args, **kwargs)
        if self._contrast_record is not None:
            self._contrast_record.features.append(feats)
        return feats

    @contextlib.contextmanager
    def _recording(self) -> Iterator[_TrainingOutputs]:
        """Record ``extract_feat`` results and each decode head's last ``forward`` output."""
        heads = self.decode_heads
        record = _TrainingOutputs(len(heads))

        def recorder(index: int, forward):
            def recorded_forward(*args, **kwargs):
                record.head_outputs[index] = forward(*args, **kwargs)
                return record.head_outputs[index]
            return recorded_forward

        for index, head in enumerate(heads):
            head.forward = recorder(index, head.forward)  # instance attribute over the method
        self._contrast_record = record
        try:
            yield record
        finally:
            self._contrast_record = None
            for head in heads:
                del head.forward

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """The base segmentor's losses plus the contrast terms.

        Args:
            inputs: [N, 3, H, W] images.
            data_samples: mmseg ``SegDataSample`` list with ``gt_sem_seg``.
        """
        with self._recording() as record:
            losses = super().loss(inputs, data_samples)
        if len(record.features) != 1:
            raise RuntimeError(
                f'{type(self).__name__}: the loss of the base segmentor called extract_feat '
                f'{len(record.features)} times; the contrast branch needs exactly one call')
        seg_logits = self._main_logits(record, len(data_samples))
        losses.update(self._contrast_forward_train(record.features[0], data_samples, seg_logits))
        return losses

    def _main_logits(self, record: _TrainingOutputs, num: int) -> Optional[Tensor]:
        """Detached main logits [N, K, h, w] of the last head with a per-pixel output, or None."""
        for head, output in zip(reversed(self.decode_heads), reversed(record.head_outputs)):
            logits = None if output is None else main_seg_logits(head, output, num)
            if logits is not None:
                return logits.detach()
        if not self._contrast_warned:
            self._contrast_warned = True
            print_log(f'{type(self).__name__}: no decode head returned per-pixel logits in '
                      'training; contrast anchors are sampled from the labels only (no hard/easy '
                      'split)', logger='current', level=logging.WARNING)
        return None

    @staticmethod
    def _contrast_generator(step: int, device: torch.device) -> torch.Generator:
        """Generator seeded by (torch seed, training step, rank): see the class docstring."""
        seed = (torch.initial_seed() * 1_000_003 + step) * 1_009 + get_rank()
        return torch.Generator(device=device).manual_seed(seed % (2**63 - 1))

    def _contrast_forward_train(self, x: Sequence[Tensor], data_samples: SampleList,
                                seg_logits: Optional[Tensor]) -> Dict[str, Tensor]:
        """Contrast loss terms (zero during warm-up) and diagnostics."""
        self.contrast_iter += 1
        step = int(self.contrast_iter)
        active = step > self.contrast_warmup_iters
        embeddings = self.contrast_head(x)
        seg_labels = torch.stack([sample.gt_sem_seg.data for sample in data_samples])
        outputs = self.contrast_loss(
            embeddings, seg_labels, seg_logits,
            generator=self._contrast_generator(step, embeddings.device), compute_loss=active)
        outputs['contrast_active'] = embeddings.new_tensor(float(active))
        return outputs


_SUBCLASSES: Dict[type, type] = {}


def check_supported(segmentor_cls: type) -> None:
    """Raise ``TypeError`` naming ``segmentor_cls`` when the contrast branch cannot attach."""
    for base, reason in UNSUPPORTED.items():
        if issubclass(segmentor_cls, base):
            raise TypeError(f'pixel contrast cannot be added to {segmentor_cls.__name__}: '
                            f'{reason}')
    if not issubclass(segmentor_cls, BaseSegmentor):
        raise TypeError(f'pixel contrast attaches to mmseg segmentors (BaseSegmentor '
                        f'subclasses); {segmentor_cls.__name__} is not one')


def with_pixel_contrast(segmentor_cls: type) -> Type[PixelContrastMixin]:
    """The subclass ``Contrast<Name>(PixelContrastMixin, segmentor_cls)``, one per class:
    ``ContrastEncoderDecoder`` / ``ContrastCascadeEncoderDecoder`` for the mmseg classes, else
    made on first use.

    Raises:
        TypeError: the class cannot take the branch (see ``UNSUPPORTED``).
    """
    if issubclass(segmentor_cls, PixelContrastMixin):
        return segmentor_cls
    if segmentor_cls not in _SUBCLASSES:  # creating it checks and records it
        type(f'Contrast{segmentor_cls.__name__}', (PixelContrastMixin, segmentor_cls), {
            '__doc__': f'``{segmentor_cls.__name__}`` plus the pixel contrast branch of '
                       ':class:`PixelContrastMixin`.',
            '__module__': __name__})
    return _SUBCLASSES[segmentor_cls]


@MODELS.register_module(name='ContrastSegmentor')
def build_contrast_segmentor(segmentor_type: str, **kwargs) -> PixelContrastMixin:
    """Config entry for any registered mmseg segmentor with the contrast branch.

    ``dict(type='ContrastSegmentor', segmentor_type='CascadeEncoderDecoder', contrast_head=...,
    contrast_loss=..., contrast_warmup_iters=..., **the segmentor's arguments)`` builds
    ``with_pixel_contrast(MODELS.get(segmentor_type))(**kwargs)``.

    Raises:
        KeyError: ``segmentor_type`` is not registered.
        TypeError: it cannot take the branch.
    """
    segmentor_cls = MODELS.get(segmentor_type)
    if segmentor_cls is None:
        raise KeyError(f'segmentor_type {segmentor_type!r} is not registered in mmseg MODELS')
    return with_pixel_contrast(segmentor_cls)(**kwargs)


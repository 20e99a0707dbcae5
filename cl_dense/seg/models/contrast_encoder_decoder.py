"""An EncoderDecoder that adds a pixel contrast loss in training and is unchanged at inference."""
import inspect
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import get_rank
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor


@MODELS.register_module()
class ContrastEncoderDecoder(EncoderDecoder):
    """:class:`mmseg.models.EncoderDecoder` plus a training-only pixel contrast branch.

    In ``loss`` a projection head embeds the ``extract_feat`` features (backbone, or neck when the
    model has one), and a contrast loss receives the embeddings, the ground truth and the decode
    head's logits of the same forward pass (for hard/easy anchor sampling; they are detached).
    ``predict`` and ``_forward`` are inherited untouched, so inference gives the same output at the
    same cost as the base segmentor with the same weights; the projection head is never run there.
    The decode head is not edited: its logits are obtained by calling its ``forward`` and
    ``loss_by_feat`` (what ``BaseDecodeHead.loss`` does). A head that overrides ``loss`` keeps its
    own ``loss`` and the contrast loss then samples anchors without predictions (at random).

    Warm-up: the model counts its training steps in a persistent buffer ``contrast_iter`` (one per
    ``loss`` call, i.e. per iteration; per micro-batch with gradient accumulation). The contrast
    term is 0 during the first ``contrast_warmup_iters`` steps and on afterwards (runner iteration
    ``i``, 0-based, is active when ``i >= contrast_warmup_iters``), as in the paper. During warm-up
    the loss is called with ``compute_loss=False``: it skips the contrast maths but still samples
    and pushes keys, so memory banks are full when the term switches on, and the zero it returns
    keeps a gradient path through the projection head (DDP sees every parameter used).
    A buffer rather than a hook reading the runner's iteration keeps the model self-contained (it
    works outside a Runner, e.g. in tests) and is saved in and restored from checkpoints.

    Randomness of anchor and key sampling comes from a generator seeded with
    ``(torch.initial_seed(), contrast_iter, rank)``: a resumed run (mmengine re-seeds torch with the
    checkpoint's seed) draws exactly what an uninterrupted run draws.

    Args:
        contrast_head: config of the projection head, e.g. ``dict(type='ContrastProjectionHead',
            in_channels=512, in_index=3, proj_dim=256)``.
        contrast_loss: config of the contrast loss (``PixelContrastLoss``,
            ``PixelMemoryContrastLoss``): called as ``loss(embeddings, seg_labels, seg_logits,
            generator=..., compute_loss=...)`` and returning a dict of tensors. ``num_classes``
            and ``ignore_index`` default to the decode head's when the loss takes them and the
            config omits them.
        contrast_warmup_iters: training steps with the contrast terms switched off.
        **kwargs: the arguments of :class:`mmseg.models.EncoderDecoder` (``backbone``,
            ``decode_head``, ``neck``, ``auxiliary_head``, ``train_cfg``, ``test_cfg``,
            ``data_preprocessor``, ``pretrained``, ``init_cfg``).

    Logged keys (besides the decode/auxiliary losses): the loss's ``loss_*`` key (summed into the
    total loss), its diagnostics (no ``loss`` in their names: ``contrast_anchors``,
    ``contrast_keys``, ``contrast_pixel_fill``, ...), and ``contrast_active`` (0 or 1). They go to
    every visualiser backend, e.g. TensorBoard with ``visualizer = dict(type='SegLocalVisualizer',
    vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])``.

    Distributed training: memory banks synchronise themselves (their ``push`` all-gathers), so keep
    mmengine's default ``broadcast_buffers=False`` in the DDP wrapper (broadcasting would copy the
    banks from rank 0 on every iteration for nothing).

    Config example (an mmseg DeepLabV3 with memory contrast on backbone stage 4)::

        _base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py']
        custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
        model = dict(
            type='ContrastEncoderDecoder',
            contrast_head=dict(type='ContrastProjectionHead', in_channels=2048, in_index=3,
                               proj_dim=256, norm_cfg=dict(type='SyncBN', requires_grad=True)),
            contrast_loss=dict(type='PixelMemoryContrastLoss', proj_dim=256, memory_size=5000,
                               pixel_update_freq=10, temperature=0.07, base_temperature=0.07,
                               max_samples=1024, max_views=1, loss_weight=1.0,
                               mining=dict(num_positives=1024, num_negatives=1024,
                                           candidate_ratio=0.1)),
            contrast_warmup_iters=5000)
    """

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

    def _fill_loss_defaults(self, cfg: ConfigType) -> dict:
        """Copy of ``cfg`` with ``num_classes`` / ``ignore_index`` taken from the decode head
        when the loss class accepts them and ``cfg`` does not set them."""
        cfg = dict(cfg)
        loss_cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
        if loss_cls is None:
            raise ValueError(f'contrast_loss type {cfg["type"]!r} is not registered; import '
                             'cl_dense.losses (custom_imports) first')
        params = inspect.signature(loss_cls).parameters
        for key in ('num_classes', 'ignore_index'):
            if key in params:
                cfg.setdefault(key, getattr(self.decode_head, key))
        return cfg

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Decode (and auxiliary) losses as in EncoderDecoder, plus the contrast terms.

        Args:
            inputs: [N, 3, H, W] images.
            data_samples: mmseg ``SegDataSample`` list with ``gt_sem_seg``.
        """
        x = self.extract_feat(inputs)
        losses = dict()
        loss_decode, seg_logits = self._decode_head_loss_and_logits(x, data_samples)
        losses.update(loss_decode)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        losses.update(self._contrast_forward_train(x, data_samples, seg_logits))
        return losses

    def _decode_head_loss_and_logits(self, x: List[Tensor], data_samples: SampleList
                                     ) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        """Decode-head losses (prefixed ``decode.``) and its logits [N, K, h, w] when available."""
        if type(self.decode_head).loss is BaseDecodeHead.loss:
            seg_logits = self.decode_head.forward(x)
            loss = self.decode_head.loss_by_feat(seg_logits, data_samples)
        else:
            seg_logits = None
            loss = self.decode_head.loss(x, data_samples, self.train_cfg)
        return add_prefix(loss, 'decode'), seg_logits

    @staticmethod
    def _contrast_generator(step: int, device: torch.device) -> torch.Generator:
        """Generator seeded by (torch seed, training step, rank): see the class docstring."""
        seed = (torch.initial_seed() * 1_000_003 + step) * 1_009 + get_rank()
        return torch.Generator(device=device).manual_seed(seed % (2**63 - 1))

    def _contrast_forward_train(self, x: List[Tensor], data_samples: SampleList,
                                seg_logits: Optional[Tensor]) -> Dict[str, Tensor]:
        """Contrast loss terms (zero during warm-up) and diagnostics."""
        self.contrast_iter += 1
        step = int(self.contrast_iter)
        active = step > self.contrast_warmup_iters
        embeddings = self.contrast_head(x)
        seg_labels = torch.stack([sample.gt_sem_seg.data for sample in data_samples])
        outputs = self.contrast_loss(
            embeddings, seg_labels, None if seg_logits is None else seg_logits.detach(),
            generator=self._contrast_generator(step, embeddings.device), compute_loss=active)
        outputs['contrast_active'] = embeddings.new_tensor(float(active))
        return outputs

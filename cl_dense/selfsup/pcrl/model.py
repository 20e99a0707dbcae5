"""PCRL (Zhou et al., ICCV 2021 / TPAMI 2023): preservational contrastive pretraining of a UNet,
MoCo-style contrast of the encoder embedding plus transformation-conditioned reconstruction, for
the two views and for their mixup (the "hybrid" view)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor

from ...losses import InfoNCELoss
from ...memory import ClassMemoryBank
from ..base import PretrainingModel
from ..momentum import copy_into_key_encoder, momentum_encoder
from ..queues import enqueue_keys, filled_keys, rank_offset
from ..shuffle_bn import batch_shuffled
from .transforms import CODE_DIM
from .unet import PCRLUNet

VIEW, TARGET, CODE = 'view', 'view_target', 'view_code'


def mixup(lam: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``lam * a + (1 - lam) * b`` with ``lam [B]`` broadcast over the trailing dims."""
    lam = lam.view(-1, *([1] * (a.dim() - 1))).to(a.dtype)
    return lam * a + (1 - lam) * b


@MODELS.register_module()
class PCRL(PretrainingModel):
    """PCRL pretraining model on an mmseg ``UNet``.

    Views ``x1, x2`` (two crops of one image, each flipped / rotated / painted by
    ``PCRLTransform``), their untransformed crops ``t1, t2`` and codes ``c1, c2``. ``E`` is the
    online :class:`PCRLUNet` (``query_encoder``), ``E_m`` its EMA copy (``key_encoder``), ``f_i``
    the online encoder features of ``x_i`` (all stages), ``q_i = embed(f_i)``,
    ``k_i = E_m.embed(x_i)`` (no grad, shuffle-BN). Per sample ``lam ~ Beta(a, a)``, taken as
    ``max(lam, 1 - lam)``; the hybrid view is ``h = lam f1 + (1 - lam) f2`` at every stage, with
    code ``lam c1 + (1 - lam) c2``, target ``lam t1 + (1 - lam) t2`` and key
    ``k_h = normalize(lam k1 + (1 - lam) k2)``. ``k2`` is enqueued (oldest overwritten first)::

        loss_contrast = w_c InfoNCE(q1, queue, slot of k2)
        loss_hybrid   = w_h InfoNCE(embed(h), queue with this step's slots holding k_h instead
                                    of k2, the same slots)
        loss_rec      = w_r (MSE(decode(f1, c1), t1) + MSE(decode(f2, c2), t2)) / 2
        loss_rec_hybrid = w_r MSE(decode(h, c_h), t_h)

    (targets normalised like the views by the data preprocessor). Replacing the slots keeps the
    pure ``k2`` of the same image out of the hybrid's negatives.

    Args:
        backbone: ``UNet`` config (``type='mmseg.UNet'``).
        head: ``MLPHead`` arguments (128-d output by default).
        queue_size: keys in the queue (must hold one step's keys of all ranks).
        momentum: EMA momentum ``m`` of the key encoder (0.999).
        temperature: InfoNCE temperature (0.2).
        mixup_alpha: ``a`` of the Beta distribution of ``lam``.
        contrast_weight, hybrid_weight, rec_weight: ``w_c``, ``w_h``, ``w_r``.
        in_channels: image channels (the reconstruction's channels).
        shuffle_bn: shuffle the key batches across processes.

    Inputs (``mode='loss'``, from ``MultiViewDataPreprocessor``): ``view [B, 2, C, H, W]``,
    ``view_target [B, 2, C, H, W]``, ``view_code [B, 2, K]``. ``mode='tensor'``: the UNet's
    outputs (deepest encoder feature, then each decoder stage) for ``[B, C, H, W]`` images.
    """

    view_key = VIEW

    def __init__(self, backbone: dict, head: Optional[dict] = None, queue_size: int = 4096,
                 momentum: float = 0.999, temperature: float = 0.2, mixup_alpha: float = 1.0,
                 contrast_weight: float = 1.0, hybrid_weight: float = 1.0,
                 rec_weight: float = 1.0, in_channels: int = 3, shuffle_bn: bool = True,
                 loss_chunk_size: int = 8192, data_preprocessor: Optional[dict] = None,
                 init_cfg=None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if mixup_alpha <= 0:
            raise ValueError(f'mixup_alpha must be > 0, got {mixup_alpha}')
        self.query_encoder = PCRLUNet(backbone, CODE_DIM, head, in_channels)
        self.key_encoder = momentum_encoder(self.query_encoder, momentum)
        self.queue = ClassMemoryBank(1, queue_size, self.query_encoder.out_dim)
        self.loss_fn = InfoNCELoss(temperature, chunk_size=loss_chunk_size)
        self.beta = torch.distributions.Beta(float(mixup_alpha), float(mixup_alpha))
        self.weights = dict(contrast=contrast_weight, hybrid=hybrid_weight, rec=rec_weight)
        self.shuffle_bn = shuffle_bn

    def init_weights(self) -> None:
        """Initialise the online network, then copy it into the momentum encoder."""
        super().init_weights()
        copy_into_key_encoder(self.key_encoder, self.query_encoder)

    def extract_feat(self, images: Tensor) -> tuple[Tensor, ...]:
        """The UNet's outputs for ``images [B, C, H, W]`` (deepest encoder feature, then each
        decoder stage)."""
        return tuple(self.query_encoder.backbone(images))

    def check_inputs(self, inputs: dict) -> None:
        """Clear errors for missing keys or mismatched shapes."""
        missing = [key for key in (VIEW, TARGET, CODE) if key not in inputs]
        if missing:
            raise ValueError(f'PCRL inputs lack {missing}; the pipeline must end with MultiView('
                             f'views=[dict(name="view", num=2, pipeline=[..., PCRLTransform])], '
                             f'extra_keys=("target", "code"))')
        views, targets, codes = inputs[VIEW], inputs[TARGET], inputs[CODE]
        if views.dim() != 5 or views.shape[1] != 2 or targets.shape != views.shape:
            raise ValueError(f'inputs "view" and "view_target" must both be [B, 2, C, H, W], got '
                             f'{tuple(views.shape)} and {tuple(targets.shape)}')
        if tuple(codes.shape) != (views.shape[0], 2, CODE_DIM):
            raise ValueError(f'inputs "view_code" must be [B, 2, {CODE_DIM}], got '
                             f'{tuple(codes.shape)}')

    def keys(self, views: Tensor) -> tuple[Tensor, Tensor]:
        """Momentum-encoder keys ``k1, k2 [B, D]`` of both views (after the EMA update)."""
        run = batch_shuffled if self.shuffle_bn else (lambda fn, *args: list(fn(*args)))
        with torch.no_grad():
            self.key_encoder.update_parameters(self.query_encoder)
            encoder = self.key_encoder.module
            return run(encoder.embed_images, views[:, 0])[0], run(encoder.embed_images,
                                                                  views[:, 1])[0]

    def loss(self, inputs: dict) -> dict[str, Tensor]:
        self.check_inputs(inputs)
        views, targets, codes = inputs[VIEW], inputs[TARGET], inputs[CODE]
        net = self.query_encoder
        f1, f2 = net.encode(views[:, 0]), net.encode(views[:, 1])
        k1, k2 = self.keys(views)
        lam = self.beta.sample((views.shape[0],)).to(views.device)
        lam = torch.maximum(lam, 1 - lam)
        hybrid = [mixup(lam, a, b) for a, b in zip(f1, f2)]
        hybrid_key = F.normalize(mixup(lam, k1, k2), dim=1)

        offset, total = rank_offset(k2.shape[0], k2.device)
        slots = enqueue_keys(self.queue, k2, offset, total)
        queue = filled_keys(self.queue)
        hybrid_keys = queue.clone()
        hybrid_keys[slots] = hybrid_key
        w = self.weights
        rec = [F.mse_loss(net.decode(f, codes[:, i]), targets[:, i]) for i, f in enumerate((f1, f2))]
        return {
            'loss_contrast': w['contrast'] * self.loss_fn(net.embed(f1), queue, slots),
            'loss_hybrid': w['hybrid'] * self.loss_fn(net.embed(hybrid), hybrid_keys, slots),
            'loss_rec': w['rec'] * (rec[0] + rec[1]) / 2,
            'loss_rec_hybrid': w['rec'] * F.mse_loss(
                net.decode(hybrid, mixup(lam, codes[:, 0], codes[:, 1])),
                mixup(lam, targets[:, 0], targets[:, 1])),
            'queue_fill': self.queue.count.float().mean() / self.queue.size,
        }

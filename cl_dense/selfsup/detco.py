"""DetCo (Xie et al., ICCV 2021): global and local (jigsaw) contrast at several backbone levels,
MoCo v2 style (momentum key encoder, one key queue per level and branch)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..losses import InfoNCELoss
from ..memory import ClassMemoryBank
from .base import PretrainingModel
from .encoder import MultiLevelEncoder
from .momentum import copy_into_key_encoder, momentum_encoder
from .queues import enqueue_keys, filled_keys, rank_offset
from .shuffle_bn import batch_shuffled

INPUT_KEYS = ('global', 'jigsaw', 'jigsaw_perm')


@MODELS.register_module()
class DetCo(PretrainingModel):
    """DetCo pretraining model; with ``local=False`` and ``levels=(3,)`` it is MoCo v2.

    Per level ``l`` (weight ``w_l``) and with queries from view 1, keys from view 2 (computed by
    the momentum encoder, shuffle-BN across processes)::

        loss_g2g_<l> = w_l InfoNCE(global q, global k, global queue)
        loss_l2l_<l> = w_l InfoNCE(local q,  local k,  local queue)
        loss_l2g_<l> = w_l InfoNCE(local q,  global k, global queue)

    (:class:`cl_dense.losses.InfoNCELoss`, streamed: the queue never becomes a logits matrix).
    The keys are all-gathered and enqueued first (oldest overwritten first); each query's
    positive is its own key's slot, the negatives every other queue entry (older keys and the
    other samples' current keys, of every rank). ``queue_size`` must hold one step's keys.

    Args:
        backbone: backbone config (mmengine root MODELS: ``'mmseg.ResNetV1c'``, ``'mmdet.ResNet'``
            ...) whose ``out_indices`` cover ``levels``.
        levels: backbone outputs with heads (0..3 = res2..res5 for a ResNet with
            ``out_indices=(0, 1, 2, 3)``).
        level_weights: ``w_l``, one per level.
        local: use the jigsaw branch (``loss_l2l``, ``loss_l2g``).
        num_patches: jigsaw patches per local view (9).
        local_order: ``'shuffled'`` (DetCo/PIRL: the local head sees the patches in their
            shuffled order, so it must learn a code invariant to the arrangement) or ``'cell'``
            (un-shuffled first: the permutation has no effect); see ``MultiLevelEncoder``.
        head: ``MLPHead`` arguments (``hidden_dim=2048``, ``out_dim=128``, ``num_layers=2``).
        queue_size: keys per queue (65536).
        momentum: key encoder momentum ``m`` in ``k <- m k + (1 - m) q`` (0.999).
        temperature: InfoNCE temperature (0.2).
        shuffle_bn: shuffle the key batch across processes (no effect in one process).
        in_channels: image channels; feat_channels: backbone output widths (inferred if None).
        level_names: names in the loss keys (``res2``.. by default).
        loss_chunk_size: queue keys streamed per step in the loss.

    Inputs (``forward(inputs, mode='loss')``, from ``MultiViewDataPreprocessor``):
    ``global [B, 2, C, H, W]``; with ``local``: ``jigsaw [B, 2, P, C, h, w]`` and
    ``jigsaw_perm [B, 2, P]``. ``mode='tensor'`` returns the query backbone's level features of
    ``inputs`` (a ``[B, C, H, W]`` tensor or the dict's first global view).
    """

    def __init__(self, backbone: dict, levels: Sequence[int] = (0, 1, 2, 3),
                 level_weights: Sequence[float] = (0.1, 0.4, 0.7, 1.0), local: bool = True,
                 num_patches: int = 9, head: Optional[dict] = None, queue_size: int = 65536,
                 momentum: float = 0.999, temperature: float = 0.2, shuffle_bn: bool = True,
                 in_channels: int = 3, feat_channels: Optional[Sequence[int]] = None,
                 level_names: Optional[Sequence[str]] = None, loss_chunk_size: int = 8192,
                 local_order: str = 'shuffled', data_preprocessor: Optional[dict] = None,
                 init_cfg=None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        levels = tuple(levels)
        if len(level_weights) != len(levels):
            raise ValueError(f'level_weights needs one weight per level: {len(levels)} levels, '
                             f'{len(level_weights)} weights')
        self.query_encoder = MultiLevelEncoder(backbone, levels, head,
                                               num_patches if local else 0, in_channels,
                                               feat_channels, local_order)
        self.key_encoder = momentum_encoder(self.query_encoder, momentum)
        self.level_weights = tuple(float(w) for w in level_weights)
        self.level_names = tuple(level_names or (f'res{lvl + 2}' for lvl in levels))
        if len(self.level_names) != len(levels):
            raise ValueError(f'level_names needs one name per level, got {self.level_names}')
        self.local = local
        self.shuffle_bn = shuffle_bn
        self.loss_fn = InfoNCELoss(temperature, chunk_size=loss_chunk_size)
        branches = ('global', 'local') if local else ('global',)
        dim = self.query_encoder.out_dim
        self.queues = nn.ModuleDict({f'{branch}_{name}': ClassMemoryBank(1, queue_size, dim)
                                     for branch in branches for name in self.level_names})

    def init_weights(self) -> None:
        """Initialise the query encoder, then copy it into the key encoder."""
        super().init_weights()
        copy_into_key_encoder(self.key_encoder, self.query_encoder)

    def check_inputs(self, inputs: dict) -> None:
        """Clear errors for missing views or wrong shapes."""
        needed = INPUT_KEYS if self.local else INPUT_KEYS[:1]
        missing = [key for key in needed if key not in inputs]
        if missing:
            raise ValueError(f'DetCo inputs lack {missing}; the pipeline must end with MultiView '
                             f'producing {list(needed)}')
        if inputs['global'].dim() != 5 or inputs['global'].shape[1] != 2:
            raise ValueError('inputs["global"] must be [B, 2, C, H, W], got '
                             f'{tuple(inputs["global"].shape)}')
        if self.local and (inputs['jigsaw'].dim() != 6 or inputs['jigsaw'].shape[1] != 2):
            raise ValueError('inputs["jigsaw"] must be [B, 2, P, C, h, w], got '
                             f'{tuple(inputs["jigsaw"].shape)}')

    def embed(self, inputs: dict, view: int, encoder: MultiLevelEncoder,
              shuffle: bool) -> tuple[list[Tensor], Optional[list[Tensor]]]:
        """Global and local embeddings (per level ``[B, D]``) of ``view`` by ``encoder``."""
        run = batch_shuffled if shuffle else (lambda fn, *args: list(fn(*args)))
        global_embeds = run(encoder.global_embed, inputs['global'][:, view])
        local_embeds = run(encoder.local_embed, inputs['jigsaw'][:, view],
                           inputs['jigsaw_perm'][:, view]) if self.local else None
        return global_embeds, local_embeds

    def loss(self, inputs: dict) -> dict[str, Tensor]:
        """Enqueue this step's keys, then the weighted loss terms per level against the queues
        (this rank's keys are the positives, every other entry a negative)."""
        self.check_inputs(inputs)
        q_global, q_local = self.embed(inputs, 0, self.query_encoder, shuffle=False)
        with torch.no_grad():
            self.key_encoder.update_parameters(self.query_encoder)
            k_global, k_local = self.embed(inputs, 1, self.key_encoder.module, self.shuffle_bn)
        offset, total = rank_offset(k_global[0].shape[0], k_global[0].device)
        losses = {}
        for i, (name, weight) in enumerate(zip(self.level_names, self.level_weights)):
            global_queue = self.queues[f'global_{name}']
            slots = enqueue_keys(global_queue, k_global[i], offset, total)
            keys = filled_keys(global_queue)
            losses[f'loss_g2g_{name}'] = weight * self.loss_fn(q_global[i], keys, slots)
            if self.local:
                local_queue = self.queues[f'local_{name}']
                local_slots = enqueue_keys(local_queue, k_local[i], offset, total)
                losses[f'loss_l2l_{name}'] = weight * self.loss_fn(
                    q_local[i], filled_keys(local_queue), local_slots)
                losses[f'loss_l2g_{name}'] = weight * self.loss_fn(q_local[i], keys, slots)
        fill = [queue.count.float() / queue.size for queue in self.queues.values()]
        losses['queue_fill'] = torch.stack(fill).mean()
        return losses

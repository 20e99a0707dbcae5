"""The GLCNet pretraining model."""
from __future__ import annotations

from typing import Optional

from mmengine.registry import MODELS, DefaultScope
from torch import Tensor, nn

from ...losses import NTXentLoss
from ..base import PretrainingModel
from ..heads import MLPHead
from .features import matched_windows, style_statistics


def build_in_scope(cfg: dict, scope: str) -> nn.Module:
    """Build ``cfg`` from mmengine's root MODELS with ``scope`` as the default scope (so that the
    part's own nested builds, e.g. an mmseg head's loss, find their types whatever the runner's
    scope is), its type prefixed with ``scope.`` unless it names one (``'mmseg.ResNetV1c'``)."""
    cfg = dict(cfg)
    if isinstance(cfg.get('type'), str) and '.' not in cfg['type']:
        cfg['type'] = f'{scope}.{cfg["type"]}'
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def strip_classifier(decode_head: nn.Module) -> nn.Module:
    """Make an mmseg decode head return its features instead of logits: its ``cls_seg`` (dropout
    then the 1x1 ``conv_seg``, the last step of ``forward`` in mmseg's heads) becomes the
    identity, so ``forward`` ends at the ``[N, channels, h, w]`` features before ``conv_seg``."""
    if not hasattr(decode_head, 'conv_seg') or not hasattr(decode_head, 'channels'):
        raise ValueError(f'{type(decode_head).__name__} is not an mmseg decode head with conv_seg')
    decode_head.conv_seg = nn.Identity()
    decode_head.dropout = None
    return decode_head


@MODELS.register_module()
class GLCNet(PretrainingModel):
    """GLCNet (Li et al., IEEE TGRS 2022): global style and local matching contrast on the
    decoder features of a segmentation encoder-decoder, from two overlapping views.

    With ``f [2B, C, h, h]`` the decode head's features (before ``conv_seg``) of both views::

        loss_global = w_g NT-Xent(MLP_g([mean_hw f, var_hw f]))              over the B pairs
        loss_local  = w_l NT-Xent(MLP_l(mean of the window x window cells))  over the M pairs

    the local pairs being up to ``num_matches`` random cells per sample of view 1 whose centre
    pixel is seen by view 2 (exact, from the coordinate maps of ``OverlappingViews``), paired
    with the cell of view 2 that holds that pixel; every other vector is a negative
    (:class:`cl_dense.losses.NTXentLoss`). No match (disjoint views) gives a zero local loss
    with a gradient path.

    Args:
        segmentor: an mmseg encoder-decoder config (e.g. the ``model`` of
            ``configs/_base_/models/deeplabv3_r18-tiny-d8.py``); only its ``backbone``, ``neck``
            and ``decode_head`` are built (types looked up in ``scope``), ``num_classes`` is
            unused, ``pretrained`` initialises the backbone as in mmseg.
        global_head, local_head: ``MLPHead`` arguments (``hidden_dim``, ``out_dim``,
            ``num_layers``); the input widths are ``2C`` and ``C``.
        num_matches: local pairs per sample ``K``.
        window: side of the pooled window in feature cells (odd).
        global_weight, local_weight: ``w_g``, ``w_l``.
        temperature, local_temperature: NT-Xent temperatures (``None``: the global one).
        scope: registry scope of the segmentor's parts.

    Inputs (``forward(inputs, mode='loss')``, from ``MultiViewDataPreprocessor``):
    ``views [B, 2, C_in, S, S]`` and ``coords [B, 2, 2, S, S]``. ``mode='tensor'`` returns the
    decoder features of an image batch ``[B, C_in, H, W]`` (or of the dict's first views).
    The backbone is ``backbone.*`` in the state dict (what ``detco_to_backbone.py`` exports).
    """

    view_key = 'views'

    def __init__(self, segmentor: dict, global_head: Optional[dict] = None,
                 local_head: Optional[dict] = None, num_matches: int = 16, window: int = 3,
                 global_weight: float = 0.5, local_weight: float = 0.5,
                 temperature: float = 0.5, local_temperature: Optional[float] = None,
                 scope: str = 'mmseg', data_preprocessor: Optional[dict] = None,
                 init_cfg=None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiViewDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_matches < 1 or window < 1 or window % 2 == 0:
            raise ValueError(f'need num_matches >= 1 and an odd window >= 1, got {num_matches}, '
                             f'{window}')
        backbone = dict(segmentor['backbone'])
        if segmentor.get('pretrained'):
            backbone['init_cfg'] = dict(type='Pretrained', checkpoint=segmentor['pretrained'])
        self.backbone = build_in_scope(backbone, scope)
        self.neck = build_in_scope(segmentor['neck'], scope) if segmentor.get('neck') else None
        self.decode_head = strip_classifier(build_in_scope(segmentor['decode_head'], scope))
        channels = self.decode_head.channels
        self.global_head = MLPHead(2 * channels, **(global_head or {}))
        self.local_head = MLPHead(channels, **(local_head or {}))
        self.num_matches, self.window = num_matches, window
        self.global_loss = NTXentLoss(temperature, loss_weight=global_weight)
        self.local_loss = NTXentLoss(local_temperature or temperature, loss_weight=local_weight)

    def decoder_features(self, images: Tensor) -> Tensor:
        """``[N, C_in, S, S]`` -> the decode head's features ``[N, C, h, w]``."""
        feats = self.backbone(images)
        if self.neck is not None:
            feats = self.neck(feats)
        return self.decode_head(feats)

    def extract_feat(self, images: Tensor) -> Tensor:
        """The decoder features of ``images`` (see :meth:`decoder_features`)."""
        return self.decoder_features(images)

    @staticmethod
    def check_inputs(inputs: dict) -> None:
        """Clear errors for missing keys or wrong shapes."""
        missing = [key for key in ('views', 'coords') if key not in inputs]
        if missing:
            raise ValueError(f'GLCNet inputs lack {missing}; the pipeline must end with '
                             'OverlappingViews')
        views, coords = inputs['views'], inputs['coords']
        if views.dim() != 5 or views.shape[1] != 2 or views.shape[-1] != views.shape[-2]:
            raise ValueError(f'inputs["views"] must be [B, 2, C, S, S], got {tuple(views.shape)}')
        want = (views.shape[0], 2, 2, *views.shape[-2:])
        if tuple(coords.shape) != want:
            raise ValueError(f'inputs["coords"] must be {want} for views of shape '
                             f'{tuple(views.shape)}, got {tuple(coords.shape)}')

    def loss(self, inputs: dict) -> dict[str, Tensor]:
        self.check_inputs(inputs)
        views = inputs['views']
        batch = views.shape[0]
        feats = self.decoder_features(views.flatten(0, 1))
        if feats.shape[-1] != feats.shape[-2]:
            raise ValueError(f'square views gave non-square features {tuple(feats.shape)}')
        styles = self.global_head(style_statistics(feats)).view(batch, 2, -1)
        feats = feats.view(batch, 2, *feats.shape[1:])
        local = matched_windows(feats, inputs['coords'], self.num_matches, self.window)
        embeds = self.local_head(local.flatten(0, 1))
        embeds = embeds.view(local.shape[0], 2, embeds.shape[-1])
        return {'loss_global': self.global_loss(styles),
                'loss_local': self.local_loss(embeds),
                'local_pairs': feats.new_tensor(local.shape[0] / batch)}

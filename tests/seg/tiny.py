"""The tiny contrast segmentors of the seg tests (our config and shrunk upstream mmseg models),
fake batches for them, and helpers to compare them with their base segmentor."""
from pathlib import Path
from typing import Any, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor, nn

CONFIG_DIR = Path(__file__).parent / 'configs'
TINY_CONTRAST_CONFIG = CONFIG_DIR / 'tiny_contrast_synthetic-shapes-32x32.py'
NUM_CLASSES = 5


def tiny_model_cfg(contrast_loss: Optional[dict] = None, warmup: Optional[int] = None
                   ) -> ConfigDict:
    """The model config of the tiny contrast config, optionally with another loss / warm-up."""
    model = Config.fromfile(str(TINY_CONTRAST_CONFIG)).model
    if contrast_loss is not None:
        model['contrast_loss'] = contrast_loss
    if warmup is not None:
        model['contrast_warmup_iters'] = warmup
    return model


def _edges(label: Tensor) -> Tensor:
    """[H, W] long: 1 where a 4-neighbour has another label (PIDNet's ``gt_edge_map``)."""
    edge = torch.zeros_like(label, dtype=torch.bool)
    edge[1:] |= label[1:] != label[:-1]
    edge[:-1] |= label[1:] != label[:-1]
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    edge[:, :-1] |= label[:, 1:] != label[:, :-1]
    return edge.long()


def fake_batch(num: int = 2, size: int = 32, seed: int = 0) -> Tuple[Tensor, List[SegDataSample]]:
    """Normalised images [num, 3, size, size] and samples with blocky labels (8x8 blocks) and
    their edge maps."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num, 3, size, size, generator=gen)
    blocks = torch.randint(0, NUM_CLASSES, (num, size // 8, size // 8), generator=gen)
    labels = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    samples = []
    for label in labels:
        sample = SegDataSample(gt_sem_seg=PixelData(data=label[None]),
                               gt_edge_map=PixelData(data=_edges(label)[None]))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size), padding_size=[0, 0, 0, 0]))
        samples.append(sample)
    return inputs, samples


UPSTREAM_DIR = CONFIG_DIR / 'segmentors'
CONTRAST_TYPES = {'EncoderDecoder': 'ContrastEncoderDecoder',
                  'CascadeEncoderDecoder': 'ContrastCascadeEncoderDecoder'}
IN_BATCH = dict(type='PixelContrastLoss', max_views=4, max_samples=64)


def _for_tests(value: Any) -> Any:
    """``value`` with SyncBN -> BN, every ``num_classes`` -> NUM_CLASSES and no pretrained
    weights (``pretrained`` / ``init_cfg=dict(type='Pretrained')`` dropped), recursively."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == 'pretrained' or (key == 'init_cfg' and isinstance(item, dict)
                                       and item.get('type') == 'Pretrained'):
                continue
            out[key] = NUM_CLASSES if key == 'num_classes' else _for_tests(item)
        if out.get('type') == 'SyncBN':
            out['type'] = 'BN'
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(_for_tests(item) for item in value)
    return value


def upstream_model_cfg(name: str) -> Tuple[ConfigDict, dict]:
    """The base model config of ``configs/segmentors/<name>.py`` (an upstream ``mmseg::`` model
    shrunk for 32-64 px inputs, made CPU- and test-friendly by :func:`_for_tests`) and its
    projection head's ``in_channels`` / ``in_index``."""
    cfg = Config.fromfile(str(UPSTREAM_DIR / f'{name}.py'))
    return ConfigDict(_for_tests(cfg.model.to_dict())), cfg.contrast_head.to_dict()


def contrast_model_cfg(base_cfg: dict, head: dict, contrast_loss: Optional[dict] = None) -> dict:
    """``base_cfg`` turned into its contrast segmentor: 16-dim projection head configured by
    ``head``, in-batch loss (or ``contrast_loss``), no warm-up."""
    return dict(base_cfg, type=CONTRAST_TYPES[base_cfg['type']],
                contrast_head=dict(type='ContrastProjectionHead', proj_dim=16, **head),
                contrast_loss=IN_BATCH if contrast_loss is None else contrast_loss,
                contrast_warmup_iters=0)


def base_twin(model: nn.Module, base_cfg: dict) -> nn.Module:
    """The base segmentor of ``base_cfg`` holding ``model``'s weights (all but ``contrast_*``)."""
    base = MODELS.build(base_cfg)
    result = base.load_state_dict(model.state_dict(), strict=False)
    assert not result.missing_keys
    assert result.unexpected_keys and all(k.startswith('contrast_')
                                          for k in result.unexpected_keys)
    return base


def record_loss_inputs(model: nn.Module, monkeypatch) -> List[dict]:
    """Make ``model.contrast_loss`` record the inputs of each call (one dict per call)."""
    calls: List[dict] = []
    original = model.contrast_loss.forward

    def recorded(embeddings, seg_labels, seg_logits=None, **kwargs):
        calls.append(dict(embeddings=embeddings, seg_labels=seg_labels, seg_logits=seg_logits))
        return original(embeddings, seg_labels, seg_logits, **kwargs)

    monkeypatch.setattr(model.contrast_loss, 'forward', recorded)
    return calls

"""The contrast-enabled mmseg segmentors registered by name: EncoderDecoder and its cascade."""
from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from mmseg.registry import MODELS

from .contrast_segmentor import PixelContrastMixin


@MODELS.register_module()
class ContrastEncoderDecoder(PixelContrastMixin, EncoderDecoder):
    """:class:`mmseg.models.EncoderDecoder` plus the training-only pixel contrast branch of
    :class:`PixelContrastMixin` (projection head, contrast loss, warm-up, diagnostics).

    Args:
        contrast_head, contrast_loss, contrast_warmup_iters: see :class:`PixelContrastMixin`.
        **kwargs: the arguments of :class:`mmseg.models.EncoderDecoder` (``backbone``,
            ``decode_head``, ``neck``, ``auxiliary_head``, ``train_cfg``, ``test_cfg``,
            ``data_preprocessor``, ``pretrained``, ``init_cfg``).

    Logged keys go to every visualiser backend, e.g. TensorBoard with ``visualizer =
    dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')])``.

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


@MODELS.register_module()
class ContrastCascadeEncoderDecoder(PixelContrastMixin, CascadeEncoderDecoder):
    """:class:`mmseg.models.CascadeEncoderDecoder` (OCRNet, PointRend) plus the training-only
    pixel contrast branch of :class:`PixelContrastMixin`; hard/easy sampling uses the logits of
    the last head with a per-pixel output (OCRNet: the OCR head; PointRend: the coarse head).

    Args:
        contrast_head, contrast_loss, contrast_warmup_iters: see :class:`PixelContrastMixin`.
        **kwargs: the arguments of :class:`mmseg.models.CascadeEncoderDecoder` (``num_stages``,
            ``backbone``, ``decode_head`` (a list), ...).

    Config example (HRNet-W48 + OCR, ContrastiveSeg's best setting, embedding the 4 HRNet levels)::

        _base_ = ['mmseg::ocrnet/ocrnet_hr48_4xb2-40k_cityscapes-512x1024.py',
                  '../_base_/contrast/pixcontrast_resnet.py']   # from configs/pixel_contrast/
        custom_imports = dict(imports=['cl_dense.seg'], allow_failed_imports=False)
        model = dict(_base_.contrast_model, type='ContrastCascadeEncoderDecoder',
                     contrast_head=dict(in_channels=[48, 96, 192, 384], in_index=[0, 1, 2, 3]))
    """

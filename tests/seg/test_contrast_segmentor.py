"""Which segmentor classes take the contrast branch, the generic config entry, and the errors."""
import pytest
import torch

import cl_dense.seg  # noqa: F401  (registers the models and losses)
from cl_dense.seg import (ContrastCascadeEncoderDecoder, ContrastEncoderDecoder,
                          PixelContrastMixin, with_pixel_contrast)
from mmseg.models.segmentors import (CascadeEncoderDecoder, DepthEstimator, EncoderDecoder,
                                     MultimodalEncoderDecoder, SegTTAModel)
from mmseg.registry import MODELS

from .tiny import IN_BATCH, fake_batch, tiny_model_cfg


@MODELS.register_module()
class _CustomEncoderDecoder(EncoderDecoder):
    """A third-party segmentor: an EncoderDecoder subclass with its own name."""


@MODELS.register_module()
class _TwiceExtractingSegmentor(EncoderDecoder):
    """A segmentor whose loss extracts features twice (the branch cannot tell which to use)."""

    def loss(self, inputs, data_samples):
        self.extract_feat(inputs)
        return super().loss(inputs, data_samples)


def _generic_cfg(segmentor_type):
    cfg = tiny_model_cfg(contrast_loss=IN_BATCH, warmup=0)
    return dict(cfg, type='ContrastSegmentor', segmentor_type=segmentor_type)


def test_mmseg_classes_map_to_the_registered_contrast_classes():
    assert with_pixel_contrast(EncoderDecoder) is ContrastEncoderDecoder
    assert with_pixel_contrast(CascadeEncoderDecoder) is ContrastCascadeEncoderDecoder
    assert with_pixel_contrast(ContrastEncoderDecoder) is ContrastEncoderDecoder
    assert type(MODELS.build(_generic_cfg('EncoderDecoder'))) is ContrastEncoderDecoder


def test_a_third_party_segmentor_gets_the_branch_through_the_generic_entry():
    torch.manual_seed(0)
    model = MODELS.build(_generic_cfg('_CustomEncoderDecoder'))
    assert isinstance(model, _CustomEncoderDecoder) and isinstance(model, PixelContrastMixin)
    assert type(model).__name__ == 'Contrast_CustomEncoderDecoder'
    assert type(model) is with_pixel_contrast(_CustomEncoderDecoder)  # made once
    model.train()
    losses = model.loss(*fake_batch())
    assert losses['loss_contrast'].item() > 0 and 'decode.loss_ce' in losses


@pytest.mark.parametrize('segmentor_cls,reason', [
    (DepthEstimator, 'gt_depth_map'), (MultimodalEncoderDecoder, 'extract_feat'),
    (SegTTAModel, 'test-time augmentation'), (torch.nn.Conv2d, 'not one')])
def test_unsupported_segmentors_are_refused_by_name(segmentor_cls, reason):
    message = rf'{segmentor_cls.__name__}\b.*{reason}'
    with pytest.raises(TypeError, match=message):
        with_pixel_contrast(segmentor_cls)
    with pytest.raises(TypeError, match=message):
        type('Contrast', (PixelContrastMixin, segmentor_cls), {})
    if MODELS.get(segmentor_cls.__name__) is segmentor_cls:
        with pytest.raises(TypeError, match=message):
            MODELS.build(_generic_cfg(segmentor_cls.__name__))


def test_unknown_segmentor_type_and_a_second_extract_feat_raise():
    with pytest.raises(KeyError, match='NoSuchSegmentor'):
        MODELS.build(_generic_cfg('NoSuchSegmentor'))
    model = MODELS.build(_generic_cfg('_TwiceExtractingSegmentor'))
    model.train()
    with pytest.raises(RuntimeError, match='extract_feat 2 times'):
        model.loss(*fake_batch())


@MODELS.register_module()
class _FailingSegmentor(EncoderDecoder):
    """A segmentor whose loss fails after the decode head ran."""

    def loss(self, inputs, data_samples):
        super().loss(inputs, data_samples)
        raise ArithmeticError('base loss failed')


def test_a_failing_base_loss_leaves_the_heads_and_the_model_as_they_were():
    model = MODELS.build(_generic_cfg('_FailingSegmentor'))
    model.train()
    with pytest.raises(ArithmeticError, match='base loss failed'):
        model.loss(*fake_batch())
    assert 'forward' not in vars(model.decode_head)  # the recording wrapper is removed
    assert model._contrast_record is None and int(model.contrast_iter) == 0
    with torch.no_grad():  # extract_feat records nothing outside loss
        model.extract_feat(fake_batch()[0])
    assert model._contrast_record is None

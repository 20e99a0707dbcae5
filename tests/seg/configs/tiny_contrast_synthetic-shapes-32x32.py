# The tiny test segmentor (8-channel ResNetV1c-18 + FCN, 32x32 shapes) with memory pixel contrast:
# projection head on levels 0 (stride 4) and 3, small banks, 1 warm-up iteration. Training
# uses the test pipeline (no random flips) so that runs are reproducible across resume.
_base_ = ['../../fixtures/configs/tiny_fcn_synthetic-shapes-32x32.py']
model = dict(
    type='ContrastEncoderDecoder',
    contrast_head=dict(type='ContrastProjectionHead', in_channels=[8, 64], in_index=[0, 3],
                       proj_dim=16),
    contrast_loss=dict(type='PixelMemoryContrastLoss', proj_dim=16, memory_size=24,
                       pixel_update_freq=4, max_samples=64, max_views=4, in_batch_weight=0.5,
                       mining=dict(num_positives=8, num_negatives=16, candidate_ratio=0.5)),
    contrast_warmup_iters=1)
train_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))

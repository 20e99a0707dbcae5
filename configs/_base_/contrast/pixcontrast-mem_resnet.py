# Memory pixel contrast (pixel-to-pixel and pixel-to-region against class-indexed banks) with the
# ContrastiveSeg defaults, same projection head as ./pixcontrast_resnet.py (apply it the same way:
# `model = _base_.contrast_model`). Bank size: num_classes x memory_size x proj_dim floats per bank.
_base_ = './pixcontrast_resnet.py'
contrast_model = dict(
    contrast_loss=dict(
        _delete_=True,
        type='PixelMemoryContrastLoss',
        proj_dim=256,
        memory_size=5000,
        pixel_update_freq=10,
        temperature=0.07,
        base_temperature=0.07,
        max_samples=1024,
        max_views=1,
        loss_weight=1.0))

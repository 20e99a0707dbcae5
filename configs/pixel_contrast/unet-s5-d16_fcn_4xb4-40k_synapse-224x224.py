# CE baseline (mmseg ships the Synapse dataset but no model config for it): UNet-S5-D16 + FCN on
# Synapse multi-organ CT (9 classes incl. background), 224x224 slices, 40k iterations.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    'mmseg::_base_/datasets/synapse.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
crop_size = (224, 224)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=9),
    auxiliary_head=dict(num_classes=9),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=4)

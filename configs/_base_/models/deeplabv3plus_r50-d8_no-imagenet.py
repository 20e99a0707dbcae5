# mmseg's DeepLabV3+ R-50-D8 without the ImageNet initialisation (pretrained=None): the
# segmentor of the ImageNet-free GLCNet pretraining and of its fine-tuning. SyncBN as in mmseg
# (GPUs); set num_classes in the leaf.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
model = dict(pretrained=None)

# ./pixcontrast-mem_resnet.py for mmseg's UNet-S5-D16: the head embeds the last decoder level
# (64 channels, full resolution), the level the decode head reads.
_base_ = './pixcontrast-mem_resnet.py'
contrast_model = dict(contrast_head=dict(in_channels=64, in_index=4))

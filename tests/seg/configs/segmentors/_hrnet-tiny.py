# HRNet widths 4/8/16/32 with one module and block per stage (for ./fcn_hr-tiny.py and
# ./ocrnet_hr-tiny.py); the projection head embeds all four levels (stride 4).
hrnet = dict(
    stage1=dict(num_blocks=(1, ), num_channels=(8, )),
    stage2=dict(num_blocks=(1, 1), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=1, num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))
contrast_head = dict(in_channels=[4, 8, 16, 32], in_index=[0, 1, 2, 3])

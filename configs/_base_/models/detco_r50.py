# DetCo on a plain (torchvision-layout) ResNet-50: heads on res2..res5, 2-layer MLPs to 128-d,
# 8 queues of 65536 keys, m = 0.999, T = 0.2, w = [0.1, 0.4, 0.7, 1.0], shuffle-BN.
# SyncBN instead: backbone.norm_cfg=dict(type='SyncBN') (plain BN on CPU runs).
model = dict(
    type='DetCo',
    backbone=dict(type='mmseg.ResNet', depth=50, out_indices=(0, 1, 2, 3),
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, init_cfg=None),
    levels=(0, 1, 2, 3),
    level_weights=(0.1, 0.4, 0.7, 1.0),
    local=True,
    head=dict(hidden_dim=2048, out_dim=128, num_layers=2),
    queue_size=65536,
    momentum=0.999,
    temperature=0.2,
    shuffle_bn=True,
    data_preprocessor=dict(type='MultiViewDataPreprocessor'))

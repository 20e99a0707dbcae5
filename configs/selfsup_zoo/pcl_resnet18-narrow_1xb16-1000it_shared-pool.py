# PCL (Li et al., ICLR 2021) = MoCo v2 + ProtoNCE, on the unlabelled pool of ../shared/data, with
# the backbone, 96 px global views, data, queue of 4096, T = 0.2 and schedule of
# configs/detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py. Three clusterings of
# 8 / 16 / 32 prototypes of a feature bank of the last 1024 momentum keys (>= the 785 pool images);
# k-means every pass over the pool (785 // 16 = 49 iterations) after 100 iterations of plain
# MoCo (the paper: 20 of 200 epochs). Export: <work_dir>/backbone.pth (BackboneExportHook).
_base_ = ['../detco/mocov2_resnet18-narrow_1xb16-1000it_shared-pool.py']
model = dict(type='PCL', num_clusters=(8, 16, 32), bank_size=1024, kmeans_iters=20, alpha=10.0,
             proto_weight=1.0, seed=0)
custom_hooks = [dict(type='PrototypeUpdateHook', interval=None, warmup_iters=100),
                dict(type='BackboneExportHook')]

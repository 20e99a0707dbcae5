# Runtime of self-supervised pretraining: our modules live in mmengine's root registries, so the
# scope is 'mmengine' (tools/train.py then imports cl_dense.selfsup). No validation loop.
default_scope = 'mmengine'
custom_imports = dict(imports=['cl_dense.selfsup'], allow_failed_imports=False)
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
# at the end of training: <work_dir>/backbone.pth, the backbone alone (query / online network),
# ready for init_cfg=dict(type='Pretrained', checkpoint=...); a leaf that sets custom_hooks keeps it
custom_hooks = [dict(type='BackboneExportHook')]
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)

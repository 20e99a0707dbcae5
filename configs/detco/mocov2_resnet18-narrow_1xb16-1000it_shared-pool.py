# The global-only ablation of DetCo (= MoCo v2): res5 only, no jigsaw branch, same backbone, data,
# views and schedule as detco_resnet18-narrow_1xb16-1000it_shared-pool.py.
_base_ = ['./detco_resnet18-narrow_1xb16-1000it_shared-pool.py']
model = dict(levels=(3,), level_weights=(1.0,), local=False)
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline={{_base_.global_view}})]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

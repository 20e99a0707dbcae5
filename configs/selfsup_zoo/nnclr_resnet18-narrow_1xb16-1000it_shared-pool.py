# NNCLR (Dwibedi et al., ICCV 2021) on the unlabelled pool of ../shared/data, with the backbone,
# 96 px global views, data and schedule of configs/detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py
# (so its export loads into the DetCo transfer configs). Support set of 1024 projections
# (>= the 785 pool images; 98,304 in the paper), temperature 0.1, projector 256-256-128,
# predictor 128-512-128. Export: tools/model_converters/detco_to_backbone.py (query_encoder.backbone.).
_base_ = ['../detco/detco_resnet18-narrow_1xb16-1000it_shared-pool.py']
model = dict(_delete_=True, type='NNCLR', backbone={{_base_.model.backbone}}, level=3,
             projector=dict(hidden_dim=256, out_dim=128, num_layers=2),
             predictor_hidden_dim=512, support_size=1024, temperature=0.1,
             data_preprocessor=dict(type='MultiViewDataPreprocessor'))
train_pipeline = [
    dict(type='LoadImage', channels=3),
    dict(type='MultiView', views=[dict(name='global', num=2, pipeline={{_base_.global_view}})]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# CPU-sized PCRL pretraining on the aerial_dubai tiles themselves (72 images; masks unused); the
# same model, views and schedule as pcrl_unet-s5-d16_1xb8-800it_isbi-em.py.
# Fine-tune: configs/pcrl/fcn_unet-s5-d16_pcrl-aerial-dubai_1xb4-200it_aerial-dubai-256x256.py
_base_ = ['./pcrl_unet-s5-d16_1xb8-800it_isbi-em.py']
train_dataloader = dict(dataset=dict(sub_dirs=['aerial_dubai/image']))

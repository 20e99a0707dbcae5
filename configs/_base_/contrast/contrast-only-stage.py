# Stage 1 of supervised pixel-contrast pretraining (label-efficient segmentation): only the
# contrast term trains the backbone. Apply it on top of a contrast segmentor config (a
# `Contrast*` model) as `model = _base_.contrast_only_model`, and drop validation in the leaf
# (`val_dataloader = val_cfg = val_evaluator = None`, the same for test: a segmentation metric of
# untrained heads means nothing). The decode and auxiliary heads' cross-entropy is weighted 0
# (they still run; their untrained logits only drive the hard/easy split, which is then random)
# and the contrast term is on from the first step. Stage 2 fine-tunes with cross-entropy from
# this backbone: see configs/pixel_contrast_pretrain/.
contrast_only_model = dict(
    decode_head=dict(loss_decode=dict(loss_weight=0.0)),
    auxiliary_head=dict(loss_decode=dict(loss_weight=0.0)),
    contrast_warmup_iters=0)

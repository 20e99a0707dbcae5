# TensorBoard logging (mmengine's TensorboardVisBackend) next to the local JSON backend.
# mmseg's default_runtime already defines `visualizer`, so this base holds the backends as a
# variable; a leaf switches them on with two lines:
#   _base_ = [..., '../_base_/tensorboard.py']
#   visualizer = dict(vis_backends=_base_.tensorboard_vis_backends)
# Without editing a config, replace the local backend by TensorBoard from the command line:
#   python tools/train.py CONFIG --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend
# Event files go to {work_dir}/{timestamp}/vis_data/; view them with
#   tensorboard --logdir {work_dir}
tensorboard_vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]

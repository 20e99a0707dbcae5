# Switch on TensorBoard logging (mmengine's TensorboardVisBackend) next to the local backend.
# Add to a config's _base_ list, or pass on the command line:
#   --cfg-options \
#     "visualizer.vis_backends=[dict(type='LocalVisBackend'),dict(type='TensorboardVisBackend')]"
# Event files go to {work_dir}/{timestamp}/vis_data/; view them with
#   tensorboard --logdir {work_dir}
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')

# The tiny contrast config plus the hook that saves each rank's final state (distributed tests).
_base_ = ['./tiny_contrast_synthetic-shapes-32x32.py']
custom_imports = dict(imports=['cl_dense.seg', 'tests.fixtures.rank_state_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='DumpRankStateHook')]

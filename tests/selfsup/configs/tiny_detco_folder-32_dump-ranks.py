# The tiny DetCo test config plus a hook that saves each rank's final state (distributed tests).
_base_ = ['./tiny_detco_folder-32.py']
custom_hooks = [dict(type='DumpRankStateHook')]

"""mmcv's compiled-op interface (``mmcv._ext``) on torch/torchvision kernels, for mmcv-lite.

mmcv-lite 2.1.0 is mmcv without its compiled ``_ext``; mmdet, mmseg and mmpretrain import
``mmcv.ops``, which needs it. :mod:`.hook` serves ``mmcv._ext`` from :mod:`.table`: the functions
our configs and the OpenMMLab code paths they reach call (RoIAlign, NMS, sigmoid focal loss,
multi-scale deformable attention, deformable convolution, version queries) run on torchvision's or
torch's CPU and CUDA kernels; every other name raises :class:`MissingMmcvOpError` naming the op and
the compiled build (``CL_DENSE_MMCV=full make setup``) when called.

This package imports no OpenMMLab code: the table is pure tensor maths.
"""

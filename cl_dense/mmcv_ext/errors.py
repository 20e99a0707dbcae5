"""The error raised by ``mmcv._ext`` functions that the torchvision-backed table does not provide."""


class MissingMmcvOpError(NotImplementedError):
    """An mmcv compiled op that cl_dense's ``mmcv._ext`` replacement does not implement."""

    def __init__(self, name: str, detail: str = '') -> None:
        reason = detail or 'it is not provided by cl_dense\'s torchvision-backed replacement'
        super().__init__(
            f"mmcv op '{name}' is unavailable: mmcv-lite has no compiled ops and {reason}. "
            "Install mmcv's compiled build instead: `CL_DENSE_MMCV=full make setup` "
            "(builds mmcv 2.1.0 from its sdist, ~15-20 min once per machine; see README, 'Set-up').")
        self.op_name = name

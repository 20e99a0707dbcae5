"""Peak tensor memory of a call on the CPU, for the tests and the benchmark.

CPU tensors have no allocator statistics like ``torch.cuda.max_memory_allocated``; the profiler's
memory events (one per allocation and free, with its size) replayed in time order give the peak of
bytes held by tensors allocated during the call. Tensors that exist before the call (inputs) are
not counted, so the result is the *extra* memory of the call.
"""
from typing import Callable

import torch


def peak_extra_bytes(fn: Callable[[], object]) -> int:
    """Run ``fn`` once; the peak of bytes allocated by it and not yet freed."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()
        peak = max(peak, live)
    return peak

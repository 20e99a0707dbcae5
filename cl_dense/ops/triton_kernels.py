"""Triton kernels of the supervised contrast and the ring push (CUDA; CPU under TRITON_INTERPRET=1).

Layout shared by the contrast kernels (see ``contrast_plan``):
    a       [n, D]   float32 anchors of the plan divided by t (sorted by label)
    a_lab   [n]      int64 their labels
    self_p  [n]      int64 sorted key position of the anchor itself, -1 without self-contrast
    keys    [M, D]   the caller's keys (any float dtype), read through
    order   [M']     int64 key row of each sorted position
    k_lab   [M']     int64 labels of the sorted positions
Tiles: BLOCK_A anchors x BLOCK_K keys, the full (padded) feature dimension BLOCK_D; similarities
``s = a . k`` are recomputed tile by tile and never stored. ``EXCLUDE_SAME`` selects the
contrastiveseg denominator (keys of another class) instead of supcon's (every key but self).
"""
import triton
import triton.language as tl


@triton.jit
def _anchor_tile(a_ptr, rows, n, D, BLOCK_D: tl.constexpr):
    """``[BLOCK_A, BLOCK_D]`` float32 anchors of ``rows`` (zeros outside)."""
    dims = tl.arange(0, BLOCK_D)
    mask = (rows[:, None] < n) & (dims[None, :] < D)
    return tl.load(a_ptr + rows[:, None] * D + dims[None, :], mask=mask, other=0.0)


@triton.jit
def _key_tile(keys_ptr, order_ptr, cols, m, D, BLOCK_D: tl.constexpr):
    """``[BLOCK_K, BLOCK_D]`` float32 keys of sorted positions ``cols`` (zeros outside)."""
    dims = tl.arange(0, BLOCK_D)
    inside = cols < m
    key_rows = tl.load(order_ptr + cols, mask=inside, other=0)
    mask = inside[:, None] & (dims[None, :] < D)
    tile = tl.load(keys_ptr + key_rows[:, None] * D + dims[None, :], mask=mask, other=0.0)
    return tile.to(tl.float32)


@triton.jit
def _masks(rows, cols, n, m, a_lab, self_p, k_lab_ptr, EXCLUDE_SAME: tl.constexpr):
    """``(denominator, positive)`` boolean ``[BLOCK_A, BLOCK_K]`` masks of a tile."""
    inside = (rows[:, None] < n) & (cols[None, :] < m)
    k_lab = tl.load(k_lab_ptr + cols, mask=cols < m, other=-1)
    same = a_lab[:, None] == k_lab[None, :]
    not_self = self_p[:, None] != cols[None, :]
    positive = inside & same & not_self
    if EXCLUDE_SAME:
        denominator = inside & (a_lab[:, None] != k_lab[None, :])
    else:
        denominator = inside & not_self
    return denominator, positive


@triton.jit
def _store_rows(ptr, rows, n, D, values, BLOCK_D: tl.constexpr):
    """Store ``values [BLOCK_A, BLOCK_D]`` as rows ``rows`` of a ``[n, D]`` tensor."""
    dims = tl.arange(0, BLOCK_D)
    tl.store(ptr + rows[:, None] * D + dims[None, :], values,
             mask=(rows[:, None] < n) & (dims[None, :] < D))


@triton.jit
def denominator_kernel(a_ptr, a_lab_ptr, self_ptr, keys_ptr, order_ptr, k_lab_ptr, log_z_ptr,
                       row_max_ptr, pos_sum_ptr, exp_keys_ptr, pos_keys_ptr, n, m, D,
                       EXCLUDE_SAME: tl.constexpr, WITH_KEYS: tl.constexpr,
                       BLOCK_A: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr):
    """Online over key tiles, per anchor: ``log_z = LSE`` of ``s`` over the denominator keys,
    its final shift ``row_max`` and, with ``WITH_KEYS``, ``exp_keys = sum_j exp(s_ij - row_max)
    k_j`` (denominator). supcon only (``EXCLUDE_SAME`` off): ``pos_sum = sum_p s_ip`` and, with
    ``WITH_KEYS``, ``pos_keys = sum_p k_p``; contrastiveseg's positive terms come from
    ``positive_kernel``, so those are neither accumulated nor stored then."""
    rows = tl.program_id(0) * BLOCK_A + tl.arange(0, BLOCK_A)
    a = _anchor_tile(a_ptr, rows, n, D, BLOCK_D)
    a_lab = tl.load(a_lab_ptr + rows, mask=rows < n, other=-2)
    self_p = tl.load(self_ptr + rows, mask=rows < n, other=-1)
    run_max = tl.full([BLOCK_A], float('-inf'), tl.float32)
    run_sum = tl.zeros([BLOCK_A], tl.float32)
    pos_sum = tl.zeros([BLOCK_A], tl.float32)
    exp_keys = tl.zeros([BLOCK_A, BLOCK_D], tl.float32)
    pos_keys = tl.zeros([BLOCK_A, BLOCK_D], tl.float32)
    for start in range(0, m, BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        k = _key_tile(keys_ptr, order_ptr, cols, m, D, BLOCK_D)
        s = tl.dot(a, tl.trans(k), input_precision='ieee')
        denominator, positive = _masks(rows, cols, n, m, a_lab, self_p, k_lab_ptr, EXCLUDE_SAME)
        if not EXCLUDE_SAME:
            pos_sum += tl.sum(tl.where(positive, s, 0.0), axis=1)
        s = tl.where(denominator, s, float('-inf'))
        new_max = tl.maximum(run_max, tl.max(s, axis=1))
        shift = tl.where(new_max == float('-inf'), 0.0, new_max)
        rescale = tl.exp(run_max - shift)
        e = tl.exp(s - shift[:, None])
        run_sum = run_sum * rescale + tl.sum(e, axis=1)
        run_max = new_max
        if WITH_KEYS:
            exp_keys = exp_keys * rescale[:, None] + tl.dot(e, k, input_precision='ieee')
            if not EXCLUDE_SAME:
                pos_keys += tl.dot(positive.to(tl.float32), k, input_precision='ieee')
    shift = tl.where(run_max == float('-inf'), 0.0, run_max)
    tl.store(log_z_ptr + rows, tl.log(run_sum) + shift, mask=rows < n)
    tl.store(row_max_ptr + rows, shift, mask=rows < n)
    if not EXCLUDE_SAME:
        tl.store(pos_sum_ptr + rows, pos_sum, mask=rows < n)
    if WITH_KEYS:
        _store_rows(exp_keys_ptr, rows, n, D, exp_keys, BLOCK_D)
        if not EXCLUDE_SAME:
            _store_rows(pos_keys_ptr, rows, n, D, pos_keys, BLOCK_D)


@triton.jit
def positive_kernel(a_ptr, a_lab_ptr, self_ptr, keys_ptr, order_ptr, k_lab_ptr, log_z_ptr,
                    block_row_ptr, block_end_ptr, block_lo_ptr, block_hi_ptr, softplus_ptr,
                    sigmoid_ptr, pos_keys_ptr, n, m, D, WITH_KEYS: tl.constexpr,
                    BLOCK_A: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr):
    """contrastiveseg positives, ``gap = log_z_i - s_ip``: ``sum_p softplus(gap)``,
    ``sum_p sigmoid(gap)`` and, with ``WITH_KEYS``, ``pos_keys = sum_p sigmoid(gap) k_p``.

    Each program takes the anchors ``[block_row, min(block_row + BLOCK_A, block_end))``, all of
    one class, and visits only that class's sorted key positions ``[block_lo, block_hi)`` (see
    ``contrast_triton.class_blocks``).
    """
    block = tl.program_id(0)
    rows = tl.load(block_row_ptr + block) + tl.arange(0, BLOCK_A)
    end = tl.load(block_end_ptr + block)
    a = _anchor_tile(a_ptr, rows, end, D, BLOCK_D)
    a_lab = tl.load(a_lab_ptr + rows, mask=rows < end, other=-2)
    self_p = tl.load(self_ptr + rows, mask=rows < end, other=-1)
    log_z = tl.load(log_z_ptr + rows, mask=rows < end, other=0.0)
    softplus = tl.zeros([BLOCK_A], tl.float32)
    sigmoid = tl.zeros([BLOCK_A], tl.float32)
    pos_keys = tl.zeros([BLOCK_A, BLOCK_D], tl.float32)
    for start in range(tl.load(block_lo_ptr + block), tl.load(block_hi_ptr + block), BLOCK_K):
        cols = start + tl.arange(0, BLOCK_K)
        k = _key_tile(keys_ptr, order_ptr, cols, m, D, BLOCK_D)
        s = tl.dot(a, tl.trans(k), input_precision='ieee')
        _, positive = _masks(rows, cols, end, m, a_lab, self_p, k_lab_ptr, True)
        gap = tl.where(positive, log_z[:, None] - s, float('-inf'))
        softplus += tl.sum(tl.maximum(gap, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(gap))), axis=1)
        weight = 1.0 / (1.0 + tl.exp(-gap))
        sigmoid += tl.sum(weight, axis=1)
        if WITH_KEYS:
            pos_keys += tl.dot(weight, k, input_precision='ieee')
    tl.store(softplus_ptr + rows, softplus, mask=rows < end)
    tl.store(sigmoid_ptr + rows, sigmoid, mask=rows < end)
    if WITH_KEYS:
        _store_rows(pos_keys_ptr, rows, end, D, pos_keys, BLOCK_D)


@triton.jit
def _weights(s, denominator, positive, shift, pos_coef, log_z, EXCLUDE_SAME: tl.constexpr):
    """``W = dL/ds`` of a tile (see ``contrast_cpu.backward_grads``)."""
    w = tl.where(denominator, tl.exp(s - shift[:, None]), 0.0)
    if EXCLUDE_SAME:
        w -= tl.where(positive, pos_coef[:, None] / (1.0 + tl.exp(s - log_z[:, None])), 0.0)
    else:
        w -= tl.where(positive, pos_coef[:, None], 0.0)
    return w


@triton.jit
def grad_key_kernel(a_ptr, a_lab_ptr, self_ptr, keys_ptr, order_ptr, k_lab_ptr, shift_ptr,
                    coef_ptr, log_z_ptr, grad_ptr, n, m, D, EXCLUDE_SAME: tl.constexpr,
                    BLOCK_A: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr):
    """``grad[key row of j] = sum_i W_ij a_i`` for a block of sorted key positions."""
    cols = tl.program_id(0) * BLOCK_K + tl.arange(0, BLOCK_K)
    k = _key_tile(keys_ptr, order_ptr, cols, m, D, BLOCK_D)
    acc = tl.zeros([BLOCK_K, BLOCK_D], tl.float32)
    for start in range(0, n, BLOCK_A):
        rows = start + tl.arange(0, BLOCK_A)
        a = _anchor_tile(a_ptr, rows, n, D, BLOCK_D)
        a_lab = tl.load(a_lab_ptr + rows, mask=rows < n, other=-2)
        self_p = tl.load(self_ptr + rows, mask=rows < n, other=-1)
        shift = tl.load(shift_ptr + rows, mask=rows < n, other=float('inf'))
        coef = tl.load(coef_ptr + rows, mask=rows < n, other=0.0)
        log_z = tl.load(log_z_ptr + rows, mask=rows < n, other=0.0)
        s = tl.dot(a, tl.trans(k), input_precision='ieee')
        denominator, positive = _masks(rows, cols, n, m, a_lab, self_p, k_lab_ptr, EXCLUDE_SAME)
        w = _weights(s, denominator, positive, shift, coef, log_z, EXCLUDE_SAME)
        acc += tl.dot(tl.trans(w), a, input_precision='ieee')
    dims = tl.arange(0, BLOCK_D)
    key_rows = tl.load(order_ptr + cols, mask=cols < m, other=0)
    tl.store(grad_ptr + key_rows[:, None] * D + dims[None, :], acc,
             mask=(cols[:, None] < m) & (dims[None, :] < D))


@triton.jit
def scatter_rows_kernel(bank_ptr, feats_ptr, dest_ptr, D, BLOCK_D: tl.constexpr):
    """``bank_flat[dest[r]] = feats[r]`` where ``dest[r] >= 0``; one row per program."""
    row = tl.program_id(0)
    dest = tl.load(dest_ptr + row)
    dims = tl.arange(0, BLOCK_D)
    mask = (dims < D) & (dest >= 0)
    values = tl.load(feats_ptr + row * D + dims, mask=mask, other=0.0)
    tl.store(bank_ptr + tl.maximum(dest, 0) * D + dims, values, mask=mask)

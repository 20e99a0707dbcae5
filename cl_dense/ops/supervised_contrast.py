"""``supervised_contrast``: supervised contrastive loss of anchors against a labelled key set.

Registered as ``torch.ops.cl_dense.supervised_contrast_forward`` and
``torch.ops.cl_dense.supervised_contrast_keys_backward`` with a CPU kernel (chunked torch,
``contrast_cpu``), a CUDA kernel (Triton, ``contrast_triton``; the chunked torch code when Triton
is missing), fake-tensor kernels and autograd, so it runs under ``torch.compile``. Neither
direction materialises the ``[A, M]`` similarity matrix. The anchors' gradient is accumulated
during the forward pass (one sweep over the keys); the keys' gradient, only when the keys require
it, takes a second sweep in the backward.

With ``s_ij = a_i . k_j / t``, ``c = t / t_b``, ``P_i`` the valid keys with label ``y_i`` (minus
the anchor itself in self-contrast) and ``N_i`` the valid keys with another label:

* ``'contrastiveseg'``: ``L_i = c/|P_i| sum_p softplus(LSE_{n in N_i} s_in - s_ip)``, i.e.
  ``-c/|P_i| sum_p log(exp(s_ip) / (exp(s_ip) + sum_n exp(s_in)))``;
* ``'supcon'``: ``L_i = c (LSE_{k != i} s_ik - 1/|P_i| sum_p s_ip)``.

The loss is the mean of ``L_i`` over the anchors with a positive, and 0 (with a zero gradient)
when there is none.
"""
from types import ModuleType
from typing import Optional

import torch
from torch import Tensor

from . import contrast_cpu
from .contrast_plan import ContrastPlan, ForwardStats, build_plan
from .triton_support import triton_backend
from .validation import (bad_labels, check_features, check_labels, check_positive, check_same,
                         nonfinite, raise_on_flags)

DENOMINATORS = ('contrastiveseg', 'supcon')
DEFAULT_CHUNK_SIZE = 8192


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation dtype: float64 stays float64, everything else accumulates in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_arguments(anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
                    temperature: float, base_temperature: float, denominator: str,
                    self_contrast: bool, chunk_size: int) -> None:
    """Static checks (shapes, dtypes, devices, options); no host synchronisation."""
    check_features('anchors', anchors)
    check_features('keys', keys, anchors.shape[1])
    check_labels('anchor_labels', anchor_labels, anchors.shape[0])
    check_labels('key_labels', key_labels, keys.shape[0])
    check_same('dtype', anchors=anchors, keys=keys)
    check_same('device', anchors=anchors, anchor_labels=anchor_labels, keys=keys,
               key_labels=key_labels)
    check_positive('temperature', temperature)
    check_positive('base_temperature', base_temperature)
    if denominator not in DENOMINATORS:
        raise ValueError(f'denominator must be one of {DENOMINATORS}, got {denominator!r}')
    if self_contrast and keys.shape[0] != anchors.shape[0]:
        raise ValueError(f'keys must have as many rows as anchors in self-contrast, got '
                         f'{keys.shape[0]} and {anchors.shape[0]}')
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f'chunk_size must be a positive int, got {chunk_size!r}')


def check_values(anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
                 ignore_index: int, self_contrast: bool) -> None:
    """Data checks, one host synchronisation: finite features, labels >= 0 or ignore_index
    (skipped with ``validate=False`` when the caller has checked its data)."""
    checks = {
        'anchors contain NaN or infinite values': nonfinite(anchors),
        'keys contain NaN or infinite values': nonfinite(keys),
        f'anchor_labels contain negative labels other than ignore_index={ignore_index}':
            bad_labels(anchor_labels, ignore_index),
        f'key_labels contain negative labels other than ignore_index={ignore_index}':
            bad_labels(key_labels, ignore_index),
    }
    if self_contrast:
        checks['key_labels must equal anchor_labels in self-contrast'] = (
            anchor_labels != key_labels).any()
    raise_on_flags(checks)


def default_backend(anchors: Tensor) -> ModuleType:
    """Pass implementations for ``anchors``: Triton for CUDA float16/bfloat16/float32 when Triton
    imports, otherwise the chunked torch code (which also runs on CUDA, and keeps float64 exact)."""
    if anchors.device.type == 'cuda' and anchors.dtype != torch.float64:
        triton = triton_backend()
        if triton is not None:
            return triton
    return contrast_cpu


def contrast_forward(backend: ModuleType, anchors: Tensor, anchor_labels: Tensor, keys: Tensor,
                     key_labels: Tensor, temperature: float, base_temperature: float,
                     denominator: str, ignore_index: int, self_contrast: bool, chunk_size: int,
                     anchors_grad: bool,
                     validate: bool = True) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Forward with the passes of ``backend``, after ``check_values`` when ``validate``.

    Returns ``(loss [], log_z [A], pos_weight [A], dloss/danchors [A, D] or [0, D])``: the
    anchors' gradient comes out of the forward pass itself (the key sums it needs are
    accumulated next to the logsumexp), so the backward only scales it; the statistics serve the
    keys' backward. The anchors' gradient stays in the accumulation dtype (float32 for half
    inputs) until the backward has multiplied it by the incoming gradient: cast to float16 first,
    its smallest entries would flush to zero before a loss scale could lift them.
    """
    if validate:
        check_values(anchors, anchor_labels, keys, key_labels, ignore_index, self_contrast)
    dtype = compute_dtype(anchors.dtype)
    log_z = anchors.new_zeros(anchors.shape[0], dtype=dtype)
    pos_weight = torch.zeros_like(log_z)
    anchor_grad = anchors.new_zeros((anchors.shape[0] if anchors_grad else 0, anchors.shape[1]),
                                    dtype=dtype)
    plan = build_plan(anchor_labels, key_labels, ignore_index, self_contrast)
    if plan.num_anchors == 0:
        return log_z.new_zeros(()), log_z, pos_weight, anchor_grad
    supcon = denominator == 'supcon'
    scale = temperature / base_temperature
    stats = backend.forward_stats(plan, anchors, keys, temperature, supcon, chunk_size, dtype,
                                  anchors_grad)
    per_anchor = stats.pos_term / plan.num_pos
    if supcon:
        per_anchor = stats.log_z - per_anchor
    log_z[plan.anchor_index] = stats.log_z
    pos_weight[plan.anchor_index] = stats.pos_weight
    if anchors_grad:
        rows = _anchor_gradient(plan, stats, scale, supcon) / temperature
        anchor_grad.index_copy_(0, plan.anchor_index, rows)
    return per_anchor.mean() * scale, log_z, pos_weight, anchor_grad


def _coefficients(plan: ContrastPlan, log_z: Tensor, pos_weight: Tensor, scale: float,
                  supcon: bool) -> tuple[Tensor, Tensor]:
    """``(neg_coef [n], pos_coef [n])``: with ``c = scale``, ``dL/ds_ij`` is
    ``neg_coef_i * exp(s_ij - log_z_i)`` on the denominator keys and, on the positives,
    ``-pos_coef_i * sigmoid(log_z_i - s_ij)`` (contrastiveseg) or ``-pos_coef_i`` (supcon)."""
    n = plan.num_anchors
    pos_coef = scale / (n * plan.num_pos.to(log_z.dtype))
    neg_coef = torch.full_like(pos_coef, scale / n) if supcon else pos_coef * pos_weight
    return neg_coef, pos_coef


def _anchor_gradient(plan: ContrastPlan, stats: ForwardStats, scale: float,
                     supcon: bool) -> Tensor:
    """``t * dL/da_i = sum_j dL/ds_ij k_j`` from the forward's key sums, ``[n, D]``."""
    neg_coef, pos_coef = _coefficients(plan, stats.log_z, stats.pos_weight, scale, supcon)
    finite = torch.isfinite(stats.log_z)
    weight = torch.where(finite, neg_coef * torch.exp(stats.row_max - stats.log_z),
                         torch.zeros_like(neg_coef))
    return weight.unsqueeze(1) * stats.exp_keys - pos_coef.unsqueeze(1) * stats.pos_keys


def contrast_keys_backward(backend: ModuleType, grad: Tensor, anchors: Tensor,
                           anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
                           log_z: Tensor, pos_weight: Tensor, temperature: float,
                           base_temperature: float, denominator: str, ignore_index: int,
                           self_contrast: bool, chunk_size: int) -> Tensor:
    """The keys' gradient ``grad * dL/dkeys`` (``[M, D]``), recomputing the similarities."""
    plan = build_plan(anchor_labels, key_labels, ignore_index, self_contrast)
    if plan.num_anchors == 0:
        return torch.zeros_like(keys)
    supcon = denominator == 'supcon'
    z = log_z[plan.anchor_index]
    neg_coef, pos_coef = _coefficients(plan, z, pos_weight[plan.anchor_index],
                                       temperature / base_temperature, supcon)
    usable = torch.isfinite(z) & (neg_coef > 0)
    shift = torch.where(usable, z - torch.log(neg_coef), torch.full_like(z, float('inf')))
    dtype = compute_dtype(anchors.dtype)
    grad_keys = backend.backward_keys(plan, anchors, keys, temperature, supcon, chunk_size,
                                      dtype, shift, pos_coef, z)
    return (grad_keys * grad.to(dtype)).to(keys.dtype)


@torch.library.custom_op('cl_dense::supervised_contrast_forward', mutates_args=(),
                         device_types=('cpu', 'cuda'))
def supervised_contrast_forward(anchors: Tensor, anchor_labels: Tensor, keys: Tensor,
                                key_labels: Tensor, temperature: float, base_temperature: float,
                                denominator: str, ignore_index: int, self_contrast: bool,
                                chunk_size: int, anchors_grad: bool,
                                validate: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """See ``contrast_forward``; the last three outputs are kept for the backward."""
    return contrast_forward(default_backend(anchors), anchors, anchor_labels, keys, key_labels,
                            temperature, base_temperature, denominator, ignore_index,
                            self_contrast, chunk_size, anchors_grad, validate)


@supervised_contrast_forward.register_fake
def _(anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
      temperature: float, base_temperature: float, denominator: str, ignore_index: int,
      self_contrast: bool, chunk_size: int, anchors_grad: bool,
      validate: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    dtype = compute_dtype(anchors.dtype)
    stats = anchors.new_empty(anchors.shape[0], dtype=dtype)
    anchor_grad = anchors.new_empty((anchors.shape[0] if anchors_grad else 0, anchors.shape[1]),
                                    dtype=dtype)
    return anchors.new_empty((), dtype=dtype), stats, torch.empty_like(stats), anchor_grad


@torch.library.custom_op('cl_dense::supervised_contrast_keys_backward', mutates_args=(),
                         device_types=('cpu', 'cuda'))
def supervised_contrast_keys_backward(grad: Tensor, anchors: Tensor, anchor_labels: Tensor,
                                      keys: Tensor, key_labels: Tensor, log_z: Tensor,
                                      pos_weight: Tensor, temperature: float,
                                      base_temperature: float, denominator: str,
                                      ignore_index: int, self_contrast: bool,
                                      chunk_size: int) -> Tensor:
    """See ``contrast_keys_backward``."""
    return contrast_keys_backward(default_backend(anchors), grad, anchors, anchor_labels, keys,
                                  key_labels, log_z, pos_weight, temperature, base_temperature,
                                  denominator, ignore_index, self_contrast, chunk_size)


@supervised_contrast_keys_backward.register_fake
def _(grad: Tensor, anchors: Tensor, anchor_labels: Tensor, keys: Tensor, key_labels: Tensor,
      log_z: Tensor, pos_weight: Tensor, temperature: float, base_temperature: float,
      denominator: str, ignore_index: int, self_contrast: bool, chunk_size: int) -> Tensor:
    return torch.empty_like(keys)


def _setup_context(ctx, inputs: tuple, output: tuple) -> None:
    anchors, anchor_labels, keys, key_labels, *options = inputs
    _, log_z, pos_weight, anchor_grad = output
    ctx.save_for_backward(anchors, anchor_labels, keys, key_labels, log_z, pos_weight,
                          anchor_grad)
    ctx.num_inputs = len(inputs)
    ctx.options = options[:-2]  # temperature .. chunk_size: without anchors_grad and validate
    ctx.mark_non_differentiable(log_z, pos_weight, anchor_grad)


def _autograd_backward(ctx, grad_loss: Tensor, *_unused: Tensor) -> tuple:
    anchors, anchor_labels, keys, key_labels, log_z, pos_weight, anchor_grad = ctx.saved_tensors
    grad_anchors = grad_keys = None
    if ctx.needs_input_grad[0]:
        if anchor_grad.shape != anchors.shape:
            raise RuntimeError('supervised_contrast_forward was called with anchors_grad=False '
                               'but the anchors need a gradient')
        grad_anchors = (anchor_grad * grad_loss.to(anchor_grad.dtype)).to(anchors.dtype)
    if ctx.needs_input_grad[2]:
        with torch.autocast(keys.device.type, enabled=False):
            grad_keys = torch.ops.cl_dense.supervised_contrast_keys_backward(
                grad_loss, anchors, anchor_labels, keys, key_labels, log_z, pos_weight,
                *ctx.options)
    return (grad_anchors, None, grad_keys) + (None,) * (ctx.num_inputs - 3)


supervised_contrast_forward.register_autograd(_autograd_backward, setup_context=_setup_context)


def supervised_contrast(anchors: Tensor, anchor_labels: Tensor, keys: Optional[Tensor],
                        key_labels: Optional[Tensor], temperature: float,
                        base_temperature: Optional[float] = None,
                        denominator: str = 'contrastiveseg', ignore_index: int = 255,
                        self_contrast: bool = False, *,
                        chunk_size: int = DEFAULT_CHUNK_SIZE, validate: bool = True) -> Tensor:
    """Supervised contrastive loss of ``anchors`` against labelled ``keys`` (module docstring).

    Args:
        anchors: ``[A, D]`` L2-normalised by the caller (float16/bfloat16/float32/float64).
        anchor_labels: ``[A]`` int64.
        keys: ``[M, D]``, same dtype and device; ``None`` in self-contrast means ``anchors``.
        key_labels: ``[M]`` int64; ``None`` in self-contrast means ``anchor_labels``.
        temperature: ``t`` > 0.
        base_temperature: ``t_b``; the loss is scaled by ``t / t_b``. ``None`` means ``t``.
        denominator: ``'contrastiveseg'`` (each positive against itself plus the negatives) or
            ``'supcon'`` (against every key but self).
        ignore_index: anchors and keys with this label take no part.
        self_contrast: the keys are the anchors (row i of both is one sample), pair (i, i) skipped.
        chunk_size: keys streamed per step; extra memory is O(A x chunk_size).
        validate: check the data (finite features, labels >= 0 or ``ignore_index``; one host
            synchronisation); ``False`` when the caller has (the shapes are always checked).

    Returns:
        0-d loss, float32 (float64 for float64 inputs). Gradients flow to ``anchors`` and, when
        they require grad, ``keys``, in the input dtype.
    """
    if self_contrast:
        keys = anchors if keys is None else keys
        key_labels = anchor_labels if key_labels is None else key_labels
    elif keys is None or key_labels is None:
        raise ValueError('keys and key_labels are required unless self_contrast=True')
    base_temperature = temperature if base_temperature is None else base_temperature
    check_arguments(anchors, anchor_labels, keys, key_labels, temperature, base_temperature,
                    denominator, self_contrast, chunk_size)
    anchors_grad = anchors.requires_grad and torch.is_grad_enabled()
    # The kernels choose their own accumulation dtype; an enclosing autocast must not recast
    # their internal matmuls (it would mix bfloat16 and float32 operands).
    with torch.autocast(anchors.device.type, enabled=False):
        loss = torch.ops.cl_dense.supervised_contrast_forward(
            anchors, anchor_labels, keys, key_labels, float(temperature), float(base_temperature),
            denominator, int(ignore_index), bool(self_contrast), int(chunk_size), anchors_grad,
            bool(validate))[0]
    return loss

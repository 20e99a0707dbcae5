"""``ClassPrototypes``: per-class feature store and momentum prototypes (ORE's clustering state)."""
import torch
from torch import Tensor, nn

from .class_memory_bank import ClassMemoryBank


class ClassPrototypes(nn.Module):
    """A :class:`ClassMemoryBank` of the last ``items_per_class`` features per class and one
    prototype per class derived from it.

    Schedule, counted by :meth:`step` (one call per training iteration; ``i`` = calls before this
    one, a persistent buffer): from ``i == start_iter`` on, every class that has stored features
    but no prototype yet gets the store mean as its prototype (at ``start_iter`` that is every
    stored class; later, classes seen for the first time, e.g. those of a new task); every
    ``update_mu_iter`` calls (``(i - start_iter) % update_mu_iter == 0``, ``i > start_iter``),
    ``p <- momentum * p + (1 - momentum) * mean`` for the classes that have one. Classes without
    stored features never get a prototype (``valid`` false), so empty slots never take part in a
    loss.

    Persistent buffers (saved in checkpoints): the bank's ``feats / ptr / count``,
    ``prototypes [C, D]``, ``valid [C]`` (bool) and ``iter`` (0-d int64). The bank all-gathers
    on push and the prototypes are a function of the bank and the counter, so every rank holds the
    same state.

    Args:
        num_classes: C.
        dim: D.
        items_per_class: store slots per class (ORE: 20).
        start_iter: call index at which prototypes are first computed.
        update_mu_iter: calls between momentum updates.
        momentum: eta (ORE: 0.99).
    """

    def __init__(self, num_classes: int, dim: int, items_per_class: int = 20,
                 start_iter: int = 1000, update_mu_iter: int = 3000,
                 momentum: float = 0.99) -> None:
        super().__init__()
        if not isinstance(start_iter, int) or start_iter < 0:
            raise ValueError(f'start_iter must be an int >= 0, got {start_iter!r}')
        if not isinstance(update_mu_iter, int) or update_mu_iter < 1:
            raise ValueError(f'update_mu_iter must be an int >= 1, got {update_mu_iter!r}')
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must lie in [0, 1], got {momentum!r}')
        self.store = ClassMemoryBank(num_classes, items_per_class, dim, ignore_index=-1)
        self.start_iter = start_iter
        self.update_mu_iter = update_mu_iter
        self.momentum = momentum
        self.register_buffer('prototypes', torch.zeros(num_classes, dim))
        self.register_buffer('valid', torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer('iter', torch.zeros((), dtype=torch.int64))

    def store_means(self) -> tuple[Tensor, Tensor]:
        """``(means [C, D], filled [C] bool)``: the mean of each class's stored features."""
        count = self.store.count
        slots = torch.arange(self.store.size, device=count.device) < count.unsqueeze(1)
        sums = (self.store.feats * slots.unsqueeze(2)).sum(1)
        return sums / count.clamp(min=1).unsqueeze(1).to(sums.dtype), count > 0

    @torch.no_grad()
    def step(self) -> bool:
        """Advance the counter by one and update the prototypes when the schedule says so.

        Returns:
            True when prototypes are in use from this call on (``i >= start_iter``) and at least
            one exists.
        """
        i = int(self.iter)
        self.iter += 1
        if i < self.start_iter:
            return False
        means, filled = self.store_means()
        means = means.to(self.prototypes.dtype)
        update = self.valid & filled
        if i == self.start_iter or (i - self.start_iter) % self.update_mu_iter != 0:
            update = torch.zeros_like(update)
        blended = self.momentum * self.prototypes + (1.0 - self.momentum) * means
        first = filled & ~self.valid
        self.prototypes.copy_(torch.where(first.unsqueeze(1), means,
                                          torch.where(update.unsqueeze(1), blended, self.prototypes)))
        self.valid |= filled
        return bool(self.valid.any())

    def push(self, feats: Tensor, labels: Tensor) -> None:
        """Store ``feats [N, D]`` (detached) of classes ``labels [N]`` (all-gathered over ranks)."""
        self.store.push(feats, labels)

    def extra_repr(self) -> str:
        return (f'start_iter={self.start_iter}, update_mu_iter={self.update_mu_iter}, '
                f'momentum={self.momentum}, prototypes={int(self.valid.sum())}/{self.valid.numel()}')

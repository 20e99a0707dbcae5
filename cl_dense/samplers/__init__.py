"""Anchor and key selection for contrast losses (pure torch)."""
from .hard_easy import hard_easy_quota, random_ranks_within_groups, sample_hard_easy_anchors
from .semi_hard import mine_semi_hard_keys, random_pick_from_top

__all__ = ['hard_easy_quota', 'mine_semi_hard_keys', 'random_pick_from_top',
           'random_ranks_within_groups', 'sample_hard_easy_anchors']

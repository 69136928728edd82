r"""Group AUC (gAUC): the AUC of each user's own ranking, averaged over users.

An online ranker orders one user's candidates at a time, so a model's global AUC can rise by
ranking users against each other (knowing who clicks a lot) without ranking any user's items
better. Zhu et al. (*Optimized cost per click in Taobao display advertising*, KDD 2017)
introduced the per-user average, and the Deep Interest Network paper (Zhou et al., KDD 2018)
made it the standard offline metric, weighted by impressions.

Dtypes: labels are 0/1 of any dtype; scores are ranked as float64 (float scores of any
precision) or exactly as int64 (integer scores); group ids may be integers or strings. The
result is a Python float (float64).
"""
from __future__ import annotations

import numpy as np
import torch

from ._metric_inputs import _as_1d, _binary_labels, _finite_scores, _same_length

__all__ = ["group_auc"]

_WEIGHTINGS = ("impressions", "clicks", "uniform")


def _group_ids(groups) -> torch.Tensor:
    """Group ids as int64 codes; strings and other hashable ids (NumPy object arrays) included."""
    if not isinstance(groups, torch.Tensor):
        a = np.asarray(groups)
        if a.dtype.kind in "OUS":
            if a.ndim != 1:
                raise ValueError(f"groups must be 1-D, got shape {a.shape}")
            if a.size == 0:
                raise ValueError("groups must not be empty, got 0 elements")
            try:
                _, codes = np.unique(a, return_inverse=True)
            except TypeError as exc:
                raise TypeError(f"groups must be ids of one sortable type (all numbers or all strings): {exc}") from None
            return torch.from_numpy(codes.reshape(-1).astype(np.int64))
    return _as_1d(groups, "groups")


def group_auc(y_true, y_score, groups, *, weighting: str = "impressions", return_counts: bool = False):
    r"""Group AUC (gAUC): per-group AUC averaged with weights (Zhu et al., 2017; Zhou et al., 2018).

    .. math:: \mathrm{gAUC} = \frac{\sum_g w_g\,\mathrm{AUC}_g}{\sum_g w_g}

    with :math:`w_g` the group's number of samples (``"impressions"``, the paper's choice),
    its number of positives (``"clicks"``) or 1 (``"uniform"``). A group whose samples are all
    of one class has no AUC; it is skipped, and counted. All groups are handled in one sort
    by (group, score), ranking within each group as in :func:`roc_auc_rank`.

    ``groups`` may hold numbers or strings (user ids as text). The weightings differ only when
    groups differ in size or click count.

    Returns the gAUC, or ``(gauc, n_groups_used, n_groups_skipped)`` with ``return_counts``.

    Matches: the loop ``sum(w_g * roc_auc_score(y[g], s[g])) / sum(w_g)`` over groups with
    both classes.
    """
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}")
    if not isinstance(return_counts, bool):
        raise TypeError(f"return_counts must be a bool, got {type(return_counts).__name__}")
    s = _finite_scores(_as_1d(y_score, "y_score"))
    y = _binary_labels(_as_1d(y_true, "y_true")).to(s.device)
    g = _group_ids(groups).to(s.device)
    _same_length(y, s, "y_true and y_score")
    _same_length(y, g, "y_true and groups")
    if g.is_floating_point() and not torch.isfinite(g).all():
        raise ValueError("groups must be finite, got NaN or infinity")
    _, group = torch.unique(g, return_inverse=True)
    n_groups = int(group.max()) + 1
    by_score = torch.sort(s, stable=True).indices
    order = by_score[torch.sort(group[by_score], stable=True).indices]
    gs, ss, ys = group[order], s[order], y[order]
    new_tie = torch.cat([gs.new_ones(1, dtype=torch.bool), (gs[1:] != gs[:-1]) | (ss[1:] != ss[:-1])])
    first = torch.nonzero(new_tie).squeeze(1)
    last = torch.cat([first[1:] - 1, first.new_tensor([s.numel() - 1])])
    positives_in_tie = torch.diff(torch.cumsum(ys, 0)[last], prepend=last.new_zeros(1))
    n_g = torch.bincount(group, minlength=n_groups)
    n_pos = torch.bincount(group, weights=y.double(), minlength=n_groups).long()
    n_neg = n_g - n_pos
    group_start = torch.cumsum(n_g, 0) - n_g
    tie_group = gs[first]
    # within-group 1-based ranks first+1 .. last+1 (shifted by the group's start)
    twice_mean_rank = first + last + 2 - 2 * group_start[tie_group]
    twice_rank_sum = torch.zeros_like(n_g).index_add_(0, tie_group, twice_mean_rank * positives_in_tie)
    used = (n_pos > 0) & (n_neg > 0)
    n_used = int(used.sum())
    if n_used == 0:
        raise ValueError(f"every one of the {n_groups} groups contains a single class; gAUC is undefined")
    twice_u = (twice_rank_sum - n_pos * (n_pos + 1))[used]
    auc_g = twice_u.double() / (2 * n_pos[used] * n_neg[used]).double()
    weight = {"impressions": n_g, "clicks": n_pos, "uniform": torch.ones_like(n_g)}[weighting][used].double()
    gauc = float((weight * auc_g).sum() / weight.sum())
    return (gauc, n_used, n_groups - n_used) if return_counts else gauc

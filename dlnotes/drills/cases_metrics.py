"""Drills of chapter 9: ROC AUC, F1 at a threshold, group AUC."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import f1_score, roc_auc_score

from .. import metrics
from . import solutions as S
from .cases_gradients import gen
from .catalogue import Drill, register
from .grading import Trial

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

CH09 = "notebooks/09_metrics"
AUC = (CH09, "ch09-two-aucs", "Chapter 9, Two definitions of AUC, one number")
INVARIANCE = (CH09, "ch09-invariance", "Chapter 9, AUC only sees the ranking")
F1 = (CH09, "ch09-f1", "Chapter 9, Precision, recall and F1 as the threshold moves")
GAUC = (CH09, "ch09-gauc", "Chapter 9, gAUC")


def _labels(g, n, p=0.4):
    return (torch.rand(n, generator=g) < p).long()


def _auc_cases():
    g = gen(30)
    y = _labels(g, 60)
    s = torch.randn(60, generator=g, dtype=torch.float64) + y
    y_tie = _labels(g, 200)
    s_tie = torch.round((torch.rand(200, generator=g, dtype=torch.float64) + 0.3 * y_tie) * 10) / 10
    ties_hint = "A tied positive-negative pair counts one half (the ROC curve's diagonal step)."
    out = [Trial("random scores, 60 samples", (y, s), expected=float(roc_auc_score(y, s))),
           Trial("scores on a grid of 0.1: many ties", (y_tie, s_tie), expected=float(roc_auc_score(y_tie, s_tie)), hint=ties_hint),
           Trial("a hand example with one tie across classes", (torch.tensor([0, 1, 0, 1]), torch.tensor([0.5, 0.5, 0.2, 0.8])),
                 expected=0.875, hint=ties_hint),
           Trial("every score equal: 0.5", (y, torch.full((60,), 0.3, dtype=torch.float64)), expected=0.5, hint=ties_hint),
           Trial("exp(3 s): a strictly increasing map leaves AUC unchanged", (y, torch.exp(3 * s)),
                 expected=float(roc_auc_score(y, s)), section=INVARIANCE,
                 hint="AUC depends on the ranking of the scores only, not on their values."),
           Trial("perfect ranking: 1.0", (torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0.1, 0.2, 0.3, 0.8, 0.9])), expected=1.0),
           Trial("reversed ranking: 0.0", (torch.tensor([1, 1, 0, 0]), torch.tensor([0.1, 0.2, 0.3, 0.9])), expected=0.0),
           Trial("float labels 0./1. and float32 scores", (y.double(), s.float()), expected=float(roc_auc_score(y, s.float()))),
           Trial("one class only: raises ValueError", (torch.ones(5, dtype=torch.long), torch.rand(5, generator=g)),
                 raises=ValueError, hint="With no negative (or no positive) there are no pairs: AUC is undefined, "
                                         "so raise ValueError rather than return a number.")]
    return out


register(Drill(
    name="roc_auc", signature="roc_auc(y_true, y_score)", chapter=9, difficulty="medium", questions=("D2",),
    statement=r"Area under the ROC curve of 0/1 labels `y_true` and real `y_score`, as a float: the probability that "
              "a random positive scores above a random negative, ties counting one half. One class only: `ValueError`.",
    hint="AUC = P(score of a positive > score of a negative) + P(tie) / 2.",
    section=AUC, cases=_auc_cases, solution=S.roc_auc, shows=(metrics.roc_auc, metrics.roc_auc_rank),
    reference="sklearn.metrics.roc_auc_score(y_true, y_score)"))


def _f1_cases():
    g = gen(31)
    y = _labels(g, 80)
    s = (torch.rand(80, generator=g, dtype=torch.float64) + 0.4 * y) / 1.4
    at = torch.tensor([0.5, 0.5, 0.2, 0.9, 0.5, 0.1])
    y_at = torch.tensor([1, 0, 0, 1, 1, 1])

    def ref(y, s, t):
        return float(f1_score(np.asarray(y), (np.asarray(s) >= t).astype(int), zero_division=0.0))

    return [Trial("random scores, threshold 0.5", (y, s), expected=ref(y, s, 0.5)),
            Trial("threshold 0.3", (y, s, 0.3), expected=ref(y, s, 0.3)),
            Trial("scores equal to the threshold count as positive", (y_at, at), expected=ref(y_at, at, 0.5),
                  hint="Predict positive when score >= threshold."),
            Trial("no predicted positive: F1 = 0", (y_at, at, 0.95), expected=0.0,
                  hint="With TP = 0 and nothing predicted positive, precision is 0/0; F1 is 0 by convention (zero_division=0)."),
            Trial("a perfect threshold: 1.0", (torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.4, 0.6, 0.7])), expected=1.0)]


register(Drill(
    name="f1_at_threshold", signature="f1_at_threshold(y_true, y_score, threshold=0.5)", chapter=9, difficulty="easy",
    questions=("D2",),
    statement=r"Predict positive where `y_score >= threshold`; return $F_1 = 2PR/(P+R) = 2TP/(2TP + FP + FN)$ "
              "as a float (0 when there is no true positive).",
    hint="F1 is the harmonic mean of precision and recall, not their average.",
    section=F1, cases=_f1_cases, solution=S.f1_at_threshold, shows=(metrics.precision_recall_f1,),
    reference="sklearn.metrics.f1_score(y_true, y_score >= threshold, zero_division=0)"))


def _gauc_reference(y, s, groups):
    total, weight = 0.0, 0
    for gid in np.unique(groups):
        m = groups == gid
        if len(np.unique(y[m])) < 2:
            continue
        total += m.sum() * roc_auc_score(y[m], s[m])
        weight += m.sum()
    return total / weight


def _gauc_cases():
    g = gen(32)
    out = []
    sizes = [30, 5, 12, 50, 8]
    groups = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    y = _labels(g, len(groups), 0.5)
    s = torch.rand(len(groups), generator=g, dtype=torch.float64) + 0.3 * y * (groups % 2)
    out.append(Trial("five groups of unequal size (weights = impressions)", (y, s, groups),
                     expected=_gauc_reference(y.numpy(), s.numpy(), groups.numpy()),
                     hint="gAUC weights each group's AUC by its number of samples."))
    y2 = y.clone()
    y2[groups == 1] = 1  # a user with clicks only
    out.append(Trial("a group with one class only is skipped", (y2, s, groups),
                     expected=_gauc_reference(y2.numpy(), s.numpy(), groups.numpy()),
                     hint="A group whose samples are all of one class has no AUC: leave it out of the sum and of the weights."))
    perm = torch.randperm(len(groups), generator=g)
    out.append(Trial("samples of the groups interleaved", (y[perm], s[perm], groups[perm] * 7 + 3),
                     expected=_gauc_reference(y[perm].numpy(), s[perm].numpy(), (groups[perm] * 7 + 3).numpy())))
    ranks = torch.cat([torch.linspace(0, 1, n, dtype=torch.float64) + 10 * i for i, n in enumerate(sizes)])
    y3 = _labels(g, len(groups), 0.5)
    y3[torch.tensor([0, 30, 35, 47, 97])] = 0
    y3[torch.tensor([1, 31, 36, 48, 98])] = 1
    out.append(Trial("group offsets that make the global AUC differ from gAUC", (y3, ranks, groups),
                     expected=_gauc_reference(y3.numpy(), ranks.numpy(), groups.numpy()),
                     hint="gAUC ranks samples within their own group only."))
    return out


register(Drill(
    name="gauc", signature="gauc(y_true, y_score, groups)", chapter=9, difficulty="medium", questions=("D2",),
    statement=r"Group AUC: $\sum_g n_g \mathrm{AUC}_g / \sum_g n_g$ over the groups (e.g. users) that contain both "
              "classes, $n_g$ the group's number of samples. Return a float.",
    hint="gAUC averages per-group AUCs, weighted by impressions.",
    section=GAUC, cases=_gauc_cases, solution=S.gauc, shows=(metrics.group_auc,),
    reference="the loop sum(n_g * roc_auc_score(y[g], s[g])) / sum(n_g)"))

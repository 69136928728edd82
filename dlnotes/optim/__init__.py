"""Optimizers from scratch, each a drop-in for its ``torch.optim`` counterpart.

``SGD`` (momentum, Nesterov), ``Adagrad``, ``RMSprop``, ``Adadelta``, ``Adam`` (AMSGrad),
``AdamW`` and ``NAdam`` take torch's constructor arguments and defaults and produce the same
iterates; ``MomentumTextbook`` and ``NesterovLookahead`` are the notes' textbook forms;
``ewa`` is the exponentially weighted average they are built from; and
``classify_critical_point`` is the second-derivative test for minima, maxima and saddles.

Dtypes: parameters of any floating-point dtype (float16, bfloat16, float32, float64) and
complex parameters, on any device. Each update runs in the parameter's own dtype, as
``torch.optim`` does with ``foreach=False`` (no float32 accumulation for half-precision
parameters: keep fp32 master weights for mixed precision). Complex parameters are viewed as
pairs of reals, as torch does (see :class:`dlnotes.optim._base.Optimizer`). Hyperparameters
accept Python and NumPy numbers; bools, strings and NaN raise ``TypeError``/``ValueError``.
"""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .critical import CriticalPoint, classify_critical_point
from .ewa import ewa
from .nadam import NAdam
from .rmsprop import RMSprop
from .sgd import SGD
from .textbook import MomentumTextbook, NesterovLookahead

__all__ = [
    "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam",
    "MomentumTextbook", "NesterovLookahead", "ewa", "classify_critical_point", "CriticalPoint",
]

"""dlnotes.device, seed_everything, show and set_style: the calls every chapter starts with."""
import random
import sys

import matplotlib
import numpy as np
import pytest
import torch

import dlnotes
from dlnotes import gradients, runtime


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("DLNOTES_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dlnotes.device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert dlnotes.device() == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert dlnotes.device() == torch.device("cpu")


def test_device_environment_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("DLNOTES_DEVICE", "cpu")
    assert dlnotes.device() == torch.device("cpu")
    monkeypatch.setenv("DLNOTES_DEVICE", "cuda:1")
    assert dlnotes.device() == torch.device("cuda", 1)


def test_device_rejects_an_unknown_override(monkeypatch):
    monkeypatch.setenv("DLNOTES_DEVICE", "tpu")
    with pytest.raises(ValueError, match="DLNOTES_DEVICE must name one of cpu, cuda, mps.*got 'tpu'"):
        dlnotes.device()


def test_colab_cpu_runtime_is_told_once(monkeypatch):
    shown = []
    monkeypatch.delenv("DLNOTES_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.setattr(runtime, "_colab_hint_shown", False)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    dlnotes.device()
    dlnotes.device()
    assert len(shown) == 1
    assert "Change runtime type" in shown[0].data


def test_no_colab_hint_outside_colab(monkeypatch):
    shown = []
    monkeypatch.delenv("DLNOTES_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(runtime, "_colab_hint_shown", False)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    dlnotes.device()
    assert shown == []


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_makes_python_numpy_and_torch_repeat():
    dlnotes.seed_everything(123)
    first = draw()
    draw()
    dlnotes.seed_everything(123)
    assert draw() == first
    dlnotes.seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("seed,exc,msg", [(1.5, TypeError, "seed must be an int, got float"),
                                          (True, TypeError, "got bool"),
                                          (-1, ValueError, r"seed must be in \[0, 2\*\*32\), got -1")])
def test_seed_everything_rejects_bad_seeds(seed, exc, msg):
    with pytest.raises(exc, match=msg):
        dlnotes.seed_everything(seed)


def test_show_renders_the_real_source_as_python_markdown():
    src = dlnotes.show(gradients.numerical_gradient)
    md = src._repr_markdown_()
    assert md.startswith("`numerical_gradient` (from `dlnotes/gradients.py`)")
    assert "```python\ndef numerical_gradient(" in md
    assert md.rstrip().endswith("```")
    import inspect
    assert repr(src) == inspect.getsource(gradients.numerical_gradient).rstrip()


def test_show_takes_classes_and_modules():
    from dlnotes.autodiff import Value
    assert "class Value" in repr(dlnotes.show(Value))
    assert "def numerical_gradient" in repr(dlnotes.show(gradients))


def test_show_refuses_code_outside_dlnotes():
    with pytest.raises(TypeError, match="show\\(\\) displays dlnotes code only"):
        dlnotes.show(np.mean)


def test_set_style_applies_the_book_style():
    matplotlib.rcdefaults()
    assert not matplotlib.rcParams["axes.grid"]
    dlnotes.set_style()
    assert matplotlib.rcParams["axes.grid"]
    assert not matplotlib.rcParams["axes.spines.top"]
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0].lower() == "#0072b2"
    matplotlib.rcdefaults()

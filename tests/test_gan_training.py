"""dlnotes.gan models (packing, switches) and ``train_gan``: every switch trains, is reproducible and is validated."""
import numpy as np
import pytest
import torch

from dlnotes import schedules
from dlnotes.gan import data, models, training

def test_pack_concatenates_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    torch.testing.assert_close(models.pack(x, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    assert torch.equal(models.pack(x, 1), x)
    D = models.mlp_discriminator(2, 8, pack=3)
    assert D(models.pack(x, 3)).shape == (2, 1)


def test_model_switches_build_the_named_layers():
    G = models.mlp_generator(batchnorm=True, noise_std=0.1, activation="leaky_relu", out_activation="tanh")
    kinds = [type(m).__name__ for m in G]
    assert kinds.count("BatchNorm1d") == 3 and kinds.count("GaussianNoise") == 3 and kinds[-1] == "Tanh"
    D = models.mlp_discriminator(spectral_norm=True)
    assert sum(torch.nn.utils.parametrize.is_parametrized(m) for m in D) == 3
    for kind in ("stride", "avgpool", "maxpool"):
        assert models.conv_discriminator(kind)(torch.zeros(5, 64)).shape == (5, 1)


@pytest.mark.parametrize("call, match", [
    (lambda: models.pack(torch.zeros(6, 2), 4), "divide"), (lambda: models.pack(torch.zeros(6, 2), 0), "degree"),
    (lambda: models.pack([1], 1), "torch.Tensor"), (lambda: models.GaussianNoise(-1.0), "std"),
    (lambda: models.mlp_generator(activation="gelu"), "activation"), (lambda: models.mlp_generator(hidden=0), "hidden"),
    (lambda: models.mlp_discriminator(pack=0), "pack"), (lambda: models.conv_discriminator("unpool"), "downsample"),
])
def test_models_reject_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


SWITCHES = [dict(), dict(loss="minimax"), dict(loss="least_squares"), dict(loss="hinge"),
            dict(loss="wasserstein", gp_weight=10.0), dict(latent="uniform"), dict(d_batchnorm=True, mixed_batches=True),
            dict(g_batchnorm=True), dict(activation="leaky_relu"), dict(label_smoothing=0.1), dict(soft=True),
            dict(label_flip=0.05), dict(optimizer_d="sgd"), dict(instance_noise=0.1, g_noise=0.05), dict(d_steps=2),
            dict(lr_d=2e-3, lr_g=5e-4), dict(spectral_norm=True), dict(pack=4),
            dict(lr_decay="cosine", decay_start=0.5), dict(ema_decay=0.9)]


@pytest.mark.parametrize("kw", SWITCHES, ids=[",".join(k) or "plain" for k in SWITCHES])
def test_every_switch_trains_and_is_reproducible(kw):
    a = training.train_gan("ring", steps=6, batch_size=16, sample_every=3, n_samples=50, **kw)
    b = training.train_gan("ring", steps=6, batch_size=16, sample_every=3, n_samples=50, **kw)
    assert a.d_loss.shape == (6,) and np.isfinite(a.d_loss).all() and np.isfinite(a.g_grad_norm).all()
    assert sorted(a.samples) == [3, 6] and a.final_samples.shape == (50, 2)
    assert np.array_equal(a.d_loss, b.d_loss) and torch.equal(a.final_samples, b.final_samples)


def test_train_gan_on_a_tensor_with_custom_models():
    x, _ = data.digits()
    G = models.mlp_generator(8, 64, 32, 1, out_activation="tanh")
    run = training.train_gan(x, steps=3, batch_size=8, z_dim=8, generator=G,
                             discriminator=models.conv_discriminator(), n_samples=10)
    assert run.generator is G and run.final_samples.shape == (10, 64) and float(run.final_samples.abs().max()) <= 1


def test_plain_gan_learns_something_and_pacgan_changes_the_discriminator_input():
    run = training.train_gan("ring", steps=300, batch_size=64, sample_every=300, n_samples=500, pack=2)
    assert run.discriminator[0].in_features == 4
    before = float(torch.cdist(torch.zeros(1, 2), run.samples[300]).mean())
    assert 0.3 < before < 2.0  # samples have moved onto the scale of the ring


@pytest.mark.parametrize("kind, start", [("linear", 0.0), ("linear", 0.7), ("cosine", 0.0), ("cosine", 0.35)])
def test_lr_factor_holds_then_matches_torch_decay_to_zero(kind, start):
    T = 200
    s = int(start * T)
    make = {"linear": lambda o: torch.optim.lr_scheduler.LinearLR(o, 1.0, 0.0, T - s),
            "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T - s)}[kind]
    reference = [1.0] * s + schedules.torch_lrs(make, T - s)
    ours = [training.lr_factor(t, T, kind, start) for t in range(T)]
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)
    assert training.lr_factor(T, T, kind, start) == pytest.approx(0.0, abs=1e-12)
    assert all(training.lr_factor(t, T, "none", start) == 1.0 for t in range(T))


def test_lr_decay_scales_the_last_update_of_both_players():
    def last_move(**kw):
        run = training.train_gan("ring", steps=10, batch_size=16, sample_every=1, n_samples=200, **kw)
        return float((run.samples[10] - run.samples[9]).norm()), run.samples[9]
    plain, before = last_move()
    decayed, before_decayed = last_move(lr_decay="linear", decay_start=0.8)  # factor 1 until t=8, 0.5 at t=9
    assert torch.equal(before, before_decayed)
    assert decayed / plain == pytest.approx(0.5, abs=0.1)


def test_ema_of_g_is_the_closed_form_average_and_leaves_training_alone():
    def run(steps, **kw):
        return training.train_gan("ring", steps=steps, batch_size=16, sample_every=1, n_samples=50, **kw)
    theta_1 = [p.detach().clone() for p in run(1).generator.parameters()]
    plain, averaged = run(2), run(2, ema_decay=0.7)
    assert plain.generator_ema is None and averaged.generator_ema is not None
    # training goes on with the raw weights: same losses, same trained generator
    assert np.array_equal(plain.d_loss, averaged.d_loss) and np.array_equal(plain.g_loss, averaged.g_loss)
    for raw, same, first, ema in zip(plain.generator.parameters(), averaged.generator.parameters(),
                                     theta_1, averaged.generator_ema.parameters()):
        assert torch.equal(raw, same)
        # the first update copies theta_1; the second folds in theta_2 with weight 1 - decay
        torch.testing.assert_close(ema, 0.7 * first + 0.3 * raw, rtol=0, atol=1e-7)
    # samples come from the average, at the fixed latent codes the run returns
    torch.testing.assert_close(averaged.samples[1], plain.samples[1], rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(averaged.final_samples, averaged.generator_ema(averaged.z), rtol=0, atol=0)
        torch.testing.assert_close(plain.final_samples, plain.generator(plain.z), rtol=0, atol=0)
    assert not torch.equal(averaged.final_samples, plain.final_samples)


def test_multi_tensor_adam_gives_the_single_tensor_run_bit_for_bit(monkeypatch):
    kw = dict(steps=40, batch_size=32, sample_every=40, n_samples=100, pack=2, betas=(0.0, 0.9), lr_decay="cosine")
    fast = training.train_gan("grid", **kw)
    monkeypatch.setattr(training, "_optimizer", lambda kind, params, lr, betas: torch.optim.Adam(
        params, lr=lr, betas=betas, foreach=False))
    slow = training.train_gan("grid", **kw)
    assert np.array_equal(fast.d_loss, slow.d_loss) and torch.equal(fast.final_samples, slow.final_samples)


@pytest.mark.parametrize("kw, match", [
    (dict(loss="vanilla"), "loss"), (dict(lr_d=-1e-3), "lr_d"), (dict(lr_g=0.0), "lr_g"),
    (dict(pack=3), "pack must divide"), (dict(steps=0), "steps"), (dict(batch_size=2.0), "batch_size"),
    (dict(latent="sphere"), "latent"), (dict(optimizer_d="rmsprop"), "optimizer_d"),
    (dict(label_smoothing=1.0), "label_smoothing"), (dict(label_flip=2.0), "label_flip"),
    (dict(instance_noise=-0.1), "instance_noise"), (dict(gp_weight=-1.0), "gp_weight"),
    (dict(d_steps=0), "d_steps"), (dict(data="moons"), "data"),
    (dict(lr_decay="step"), "lr_decay"), (dict(decay_start=1.0), "decay_start"),
    (dict(decay_start=-0.1), "decay_start"), (dict(decay_start="half"), "decay_start"),
    (dict(ema_decay=1.0), "ema_decay"), (dict(ema_decay=-0.5), "ema_decay"), (dict(ema_decay="0.99"), "ema_decay"),
])
def test_train_gan_rejects_bad_configurations(kw, match):
    kw = {"data": "ring", **kw}
    with pytest.raises((ValueError, TypeError), match=match):
        training.train_gan(kw.pop("data"), steps=kw.pop("steps", 2), batch_size=kw.pop("batch_size", 8), **kw)


def test_train_gan_keeps_everything_on_the_requested_device():
    run = training.train_gan("grid", steps=3, batch_size=8, sample_every=3, n_samples=16, device="cpu", ema_decay=0.9,
                             soft=True, label_flip=0.1, instance_noise=0.1)
    tensors = [run.final_samples, run.z, *run.generator.parameters(), *run.discriminator.parameters(),
               *run.generator_ema.parameters()]
    assert all(t.device.type == "cpu" for t in tensors)
    digits = torch.randn(20, 64)
    run = training.train_gan(digits, steps=2, batch_size=8, z_dim=4, sample_every=2, n_samples=4, device="cpu")
    assert run.final_samples.device.type == "cpu" and run.final_samples.shape == (4, 64)
    # device=None means dlnotes.device()
    from dlnotes import device
    assert training.train_gan("ring", steps=1, batch_size=4, n_samples=4).final_samples.device.type == device().type


def test_training_helpers_create_every_tensor_on_their_device():
    """Static check (no GPU needed): each tensor factory in the training code names its device.

    A meta-device run is not possible here (torch.Generator has no meta device), so the usual
    CPU/GPU mix-up, a factory that silently creates on the CPU, is caught in the source.
    """
    import ast
    import inspect

    from dlnotes.gan import unrolled

    factories = {"randn", "rand", "randint", "zeros", "ones", "full", "empty", "arange", "Generator", "as_tensor"}
    for fn in (training.train_gan, data.sample_mixture, unrolled.unrolled_generator_loss):
        tree = ast.parse(_dedent(inspect.getsource(fn)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in factories \
                    and getattr(node.func.value, "id", None) == "torch":
                assert any(k.arg == "device" for k in node.keywords), f"{fn.__name__}: torch.{node.func.attr} without device="


def _dedent(source):
    import textwrap
    return textwrap.dedent(source)


def test_discriminator_ensemble_loss_is_the_mean_of_its_members_losses():
    from dlnotes.gan import losses
    torch.manual_seed(0)
    members = [models.mlp_discriminator(2, 8, 1).double() for _ in range(3)]
    ens = models.DiscriminatorEnsemble(members)
    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    assert ens(real).shape == (16, 3)
    for loss in ("nonsaturating", "least_squares", "hinge", "wasserstein"):
        ours = losses.discriminator_loss(ens(real), ens(fake), loss)
        ref = torch.stack([losses.discriminator_loss(d(real), d(fake), loss) for d in members]).mean()
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
        g_ours = losses.generator_loss(ens(fake), loss)
        torch.testing.assert_close(g_ours, torch.stack([losses.generator_loss(d(fake), loss) for d in members]).mean())
    run = training.train_gan("ring", steps=3, batch_size=8, n_samples=8, sample_every=3, device="cpu",
                             discriminator=models.DiscriminatorEnsemble([models.mlp_discriminator() for _ in range(2)]))
    assert run.final_samples.shape == (8, 2)
    with pytest.raises(ValueError, match="members"):
        models.DiscriminatorEnsemble([])

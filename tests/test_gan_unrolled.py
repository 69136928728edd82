"""dlnotes.gan.unrolled: the unrolled generator loss against a hand-unrolled reference and finite differences."""
import pytest
import torch
import torch.nn.functional as F

from dlnotes.gan import losses, models, training, unrolled


def _linear_d(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(2, 1).double()


def _hand_unrolled(w, b, reals, fake, k, lr):
    """Logistic D(x) = sigmoid(w.x + b), its SGD steps on the cross-entropy written out by hand."""
    for real in reals[:k]:
        p_real, p_fake = torch.sigmoid(real @ w + b), torch.sigmoid(fake @ w + b)
        # d/dw of -mean log p_real - mean log(1 - p_fake), in closed form
        grad_w = -((1 - p_real)[:, None] * real).mean(0) + (p_fake[:, None] * fake).mean(0)
        grad_b = -(1 - p_real).mean() + p_fake.mean()
        w, b = w - lr * grad_w, b - lr * grad_b
    return -F.logsigmoid(fake @ w + b).mean()  # the non-saturating generator loss


def test_zero_steps_is_the_plain_generator_loss():
    D = _linear_d()
    fake = torch.randn(16, 2, dtype=torch.float64)
    expected = losses.generator_loss(D(fake), "nonsaturating")
    torch.testing.assert_close(unrolled.unrolled_generator_loss(D, [], fake, 0, 0.1), expected)


@pytest.mark.parametrize("k", [1, 3])
def test_matches_a_hand_unrolled_logistic_discriminator_in_value_and_gradient(k):
    D = _linear_d(1)
    g = torch.Generator().manual_seed(1)
    reals = [torch.randn(32, 2, generator=g, dtype=torch.float64) + 1 for _ in range(k)]
    theta = torch.randn(2, dtype=torch.float64, generator=g, requires_grad=True)  # G: z -> z + theta
    z = torch.randn(32, 2, generator=g, dtype=torch.float64)
    ours = unrolled.unrolled_generator_loss(D, reals, z + theta, k, 0.5)
    (grad_ours,) = torch.autograd.grad(ours, theta)
    ref = _hand_unrolled(D.weight[0].detach(), D.bias[0].detach(), reals, z + theta, k, 0.5)
    (grad_ref,) = torch.autograd.grad(ref, theta)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad_ours, grad_ref, rtol=1e-12, atol=1e-12)
    # the unrolled gradient differs from the plain (k = 0) one: the lookahead changes G's step
    (grad_plain,) = torch.autograd.grad(unrolled.unrolled_generator_loss(D, [], z + theta, 0, 0.5), theta)
    assert (grad_ours - grad_plain).abs().max() > 1e-4


def test_gradient_through_the_unrolled_steps_matches_finite_differences():
    torch.manual_seed(2)
    D = models.mlp_discriminator(2, 8, 1).double()  # leaky ReLU MLP
    G = models.mlp_generator(2, 2, 8, 1).double()
    g = torch.Generator().manual_seed(2)
    reals = [torch.randn(16, 2, generator=g, dtype=torch.float64) for _ in range(3)]
    z = torch.randn(16, 2, generator=g, dtype=torch.float64)
    names = [n for n, _ in G.named_parameters()]

    def loss_of(*params):
        fake = torch.func.functional_call(G, dict(zip(names, params)), (z,))
        return unrolled.unrolled_generator_loss(D, reals, fake, 3, 0.3)

    params = tuple(p.detach().clone().requires_grad_(True) for p in G.parameters())
    assert torch.autograd.gradcheck(loss_of, params, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_first_order_drops_the_terms_through_the_steps_and_leaves_d_unchanged():
    D = _linear_d(3)
    before = [p.detach().clone() for p in D.parameters()]
    g = torch.Generator().manual_seed(3)
    reals = [torch.randn(32, 2, generator=g, dtype=torch.float64) for _ in range(2)]
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    z = torch.randn(32, 2, generator=g, dtype=torch.float64)
    second = torch.autograd.grad(unrolled.unrolled_generator_loss(D, reals, z + theta, 2, 1.0), theta)[0]
    first = torch.autograd.grad(unrolled.unrolled_generator_loss(D, reals, z + theta, 2, 1.0,
                                                                 second_order=False), theta)[0]
    # first order: G's gradient against the (detached) D after two steps, by hand
    w, b = D.weight[0].detach(), D.bias[0].detach()
    for real in reals:
        fake = (z + theta).detach()
        p_real, p_fake = torch.sigmoid(real @ w + b), torch.sigmoid(fake @ w + b)
        w = w - (-((1 - p_real)[:, None] * real).mean(0) + (p_fake[:, None] * fake).mean(0))
        b = b - (-(1 - p_real).mean() + p_fake.mean())
    ref = torch.autograd.grad(-F.logsigmoid((z + theta) @ w + b).mean(), theta)[0]
    torch.testing.assert_close(first, ref, rtol=1e-12, atol=1e-12)
    assert (first - second).abs().max() > 1e-6
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), before))


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=-1), "k must be non-negative"), (dict(k=1.5), "k must be an int"), (dict(lr=0.0), "lr must be positive"),
    (dict(k=3), "at least k=3"), (dict(discriminator=lambda x: x), "nn.Module"), (dict(fake=[1.0]), "torch.Tensor"),
])
def test_rejects_bad_arguments(kwargs, match):
    args = dict(discriminator=_linear_d(), real_batches=[torch.zeros(4, 2, dtype=torch.float64)],
                fake=torch.zeros(4, 2, dtype=torch.float64), k=1, lr=0.1)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        unrolled.unrolled_generator_loss(**args)


def test_train_gan_unrolls_and_validates():
    run = training.train_gan("ring", steps=4, batch_size=16, unrolled_steps=2, sample_every=4, n_samples=32,
                             device="cpu")
    assert run.final_samples.shape == (32, 2) and len(run.g_loss) == 4
    plain = training.train_gan("ring", steps=4, batch_size=16, sample_every=4, n_samples=32, device="cpu")
    assert not torch.equal(run.final_samples, plain.final_samples)
    for kwargs, match in ((dict(unrolled_steps=-1), "unrolled_steps"), (dict(unrolled_steps=2.0), "unrolled_steps"),
                          (dict(unrolled_lr=0.0), "unrolled_lr")):
        with pytest.raises((ValueError, TypeError), match=match):
            training.train_gan("ring", steps=1, **kwargs)

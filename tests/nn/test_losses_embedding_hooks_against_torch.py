"""Losses, Embedding and Module forward hooks against PyTorch: what a bug hunt over
ignore_index with masked (-inf) logits, narrow integer targets and ids, repeated and
keyword-aware hooks turned up, and the corners it verified (empty batches, every
target ignored, K-dimensional inputs, dtypes, padding rows, hook order)."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

from .torch_compare import named_rng

INF = np.inf


def _grad_pair(torch, ours, theirs, x, seed=0):
    """Loss value and gradient of sum(loss * r) in float64 for ours and PyTorch's."""
    xo = ag.tensor(x, dtype=ag.float64, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    r = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    go, = ag.grad((out * ag.tensor(r, dtype=ag.float64)).sum(), [xo])
    gt, = torch.autograd.grad((ref * torch.from_numpy(r)).sum(), [xt])
    return (out.numpy(), go.numpy()), (ref.detach().numpy(), gt.numpy())


# --- bugs: each of these failed before its fix ----------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_minus_inf_logit_on_an_ignored_row_does_not_make_the_loss_nan(device, torch, reduction, weighted):
    # Class 0 masked out with -inf (a blank or forbidden token) on a padding position:
    # the ignored row weighs 0, and 0 * inf was NaN, for the whole batch.
    x = np.array([[-INF, 1.0, 2.0, 0.5], [-INF, 0.3, -INF, 1.0], [0.2, 0.1, -1.0, 3.0]])
    t = np.array([2, -100, 3])
    w = np.array([1.0, 2.0, 0.5, 1.5]) if weighted else None
    wo = None if w is None else ag.tensor(w, dtype=ag.float64)
    wt = None if w is None else torch.from_numpy(w)
    log_probs = torch.log_softmax(torch.from_numpy(x), 1).numpy()
    for ours, theirs, data in (
            (lambda a: F.cross_entropy(a, ag.tensor(t), weight=wo, reduction=reduction),
             lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(t), weight=wt, reduction=reduction), x),
            (lambda a: F.nll_loss(a, ag.tensor(t), weight=wo, reduction=reduction),
             lambda a: torch.nn.functional.nll_loss(a, torch.from_numpy(t), weight=wt, reduction=reduction),
             log_probs)):
        (value, grad), (ref, ref_grad) = _grad_pair(torch, ours, theirs, data)
        np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_a_fully_masked_ignored_row_counts_as_nothing_to_second_order(device, torch, smoothing):
    x = np.array([[-INF, -INF, -INF], [1.0, 2.0, -INF], [0.5, 1.0, 0.0]])
    t = np.array([-100, 1, 2])
    (value, grad), (ref, ref_grad) = _grad_pair(
        torch, lambda a: F.cross_entropy(a, ag.tensor(t), label_smoothing=smoothing, reduction="none"),
        lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(t), label_smoothing=smoothing,
                                                    reduction="none"), x)
    np.testing.assert_allclose(value, ref, rtol=1e-12)  # row 1 is inf with smoothing, in both
    np.testing.assert_allclose(grad[1:], ref_grad[1:], rtol=1e-12, atol=1e-14)
    assert not grad[0].any()  # PyTorch's is NaN there (log-softmax of -inf - -inf); nothing flows to it
    xo = ag.tensor(x[[0, 2]], dtype=ag.float64, requires_grad=True)
    g, = ag.grad(F.cross_entropy(xo, ag.tensor(t[[0, 2]]), label_smoothing=smoothing), [xo], create_graph=True)
    h, = ag.grad((g * g).sum(), [xo])
    assert np.isfinite(h.numpy()).all() and not h.numpy()[0].any()


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("ignore_index", [-100, -1])
def test_uint8_targets_with_a_negative_ignore_index(device, torch, name, ignore_index):
    # uint8 cannot hold -100: comparing the targets with it raised OverflowError on
    # the Array API namespaces (strict, CuPy), where NumPy answered.
    x = named_rng("uint8 targets").standard_normal((4, 3))
    t = np.array([0, 2, 1, 2], dtype=np.uint8)
    ours = getattr(F, name)(ag.tensor(x, dtype=ag.float64), ag.tensor(t), ignore_index=ignore_index)
    ref = getattr(torch.nn.functional, name)(torch.from_numpy(x), torch.from_numpy(t.astype(np.int64)),
                                             ignore_index=ignore_index)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12)


def test_an_out_of_range_uint8_target_gets_the_clear_error(device):
    with pytest.raises(ValueError, match="target 255 is out of bounds for 3 classes"):
        F.cross_entropy(ag.zeros(2, 3), ag.tensor(np.array([0, 255], dtype=np.uint8)))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_narrow_ids_with_a_padding_idx_beyond_their_range(device, torch, dtype):
    w = named_rng("narrow ids").standard_normal((300, 2))
    ids = np.array([1, 2, 1], dtype=dtype)
    wo, wt = ag.tensor(w, dtype=ag.float64, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.embedding(ag.tensor(ids), wo, padding_idx=299)
    ref = torch.nn.functional.embedding(torch.from_numpy(ids.astype(np.int64)), wt, padding_idx=299)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(wo.grad.numpy(), wt.grad.numpy())


def _hook_log(lib, module, x, log):
    h = lambda m, args, out: log.append("h")  # noqa: E731
    first = module.register_forward_hook(h)
    module.register_forward_hook(lambda m, args, out: log.append("g"))
    second = module.register_forward_hook(h)
    module(x)
    second.remove()
    module(x)
    first.remove()
    module(x)
    return log


def test_removing_the_second_registration_of_a_hook_keeps_the_first_in_place(device, torch):
    ours = _hook_log(nn, nn.Identity(), ag.ones(1), [])
    theirs = _hook_log(torch.nn, torch.nn.Identity(), torch.ones(1), [])
    assert ours == theirs == ["h", "g", "h", "h", "g", "g"]


def test_a_tensor_hook_registered_twice_removes_its_own_registration(device, torch):
    def run(x):
        double, plus_one = (lambda g: g * 2), (lambda g: g + 1)
        x.register_hook(double)
        x.register_hook(plus_one)
        x.register_hook(double).remove()  # leaves double, then plus_one
        (x * 1).sum().backward()
        return float(x.grad[0])
    assert run(ag.ones(1, requires_grad=True)) == run(torch.ones(1, requires_grad=True)) == 3.0


class _Scaled:
    """A module computing x * scale, with ``scale`` a keyword (built for either library)."""

    @staticmethod
    def make(lib):
        class Scaled(lib.Module):
            def forward(self, x, scale=1.0):
                if scale == 0:
                    raise ValueError("scale 0")
                return x * scale
        return Scaled()


def _kwargs_hooks(lib, x):
    module, seen = _Scaled.make(lib), []

    def pre(m, args, kwargs):
        seen.append(sorted(kwargs))
        return (args[0] * 2,), {"scale": 3.0}

    def post(m, args, kwargs, out):
        seen.append((float(args[0][0]), dict(kwargs)))
        return out + 1

    module.register_forward_pre_hook(pre, with_kwargs=True)
    module.register_forward_hook(post, with_kwargs=True)
    return float(module(x, scale=5.0)[0]), seen


def test_hooks_with_kwargs_see_and_replace_the_keyword_arguments(device, torch):
    assert _kwargs_hooks(nn, ag.ones(1)) == _kwargs_hooks(torch.nn, torch.ones(1)) == (7.0, [["scale"],
                                                                                          (2.0, {"scale": 3.0})])
    module = _Scaled.make(nn)
    module.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="tuple \\(new_args, new_kwargs\\)"):
        module(ag.ones(1))


def _prepend_and_context(lib, x):
    module, seen = _Scaled.make(lib), []
    module.register_forward_hook(lambda m, args, out: seen.append("a"))
    module.register_forward_hook(lambda m, args, out: seen.append("first"), prepend=True)
    module.register_forward_pre_hook(lambda m, args: seen.append("pre a"))
    with module.register_forward_pre_hook(lambda m, args: seen.append("pre first"), prepend=True):
        module(x)
    module(x)
    return seen


def test_prepend_and_the_handle_as_a_context_manager(device, torch):
    assert _prepend_and_context(nn, ag.ones(1)) == _prepend_and_context(torch.nn, torch.ones(1)) == [
        "pre first", "pre a", "first", "a", "pre a", "first", "a"]


def _always_called(lib, x):
    module, seen = _Scaled.make(lib), []
    module.register_forward_hook(lambda m, args, out: seen.append(("always", out is None)), always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append(("plain", out is None)))
    module.register_forward_hook(lambda m, args, out: 1 / 0, always_call=True)
    with pytest.raises(ValueError, match="scale 0"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module(x, scale=0)
    return seen, [str(w.message).split(":")[0] for w in caught]


def test_an_always_call_hook_runs_when_forward_raises(device, torch):
    ours, theirs = _always_called(nn, ag.ones(1)), _always_called(torch.nn, torch.ones(1))
    assert ours[0] == theirs[0] == [("always", True)]
    assert len(ours[1]) == len(theirs[1]) == 1 and "always_call=True" in ours[1][0]


# --- behaviour checked against PyTorch (these passed already) ------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_empty_batches_match_torch(device, torch, reduction):
    """A quiet NaN for 'mean', as PyTorch's: no NumPy warning of an empty mean."""
    empty = np.zeros((0,), dtype=np.int64)
    cases = [
        (lambda a: F.cross_entropy(a, ag.tensor(empty), label_smoothing=0.1, reduction=reduction),
         lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(empty), label_smoothing=0.1,
                                                     reduction=reduction), (0, 3)),
        (lambda a: F.nll_loss(a, ag.tensor(empty.reshape(2, 0)), reduction=reduction),
         lambda a: torch.nn.functional.nll_loss(a, torch.from_numpy(empty.reshape(2, 0)), reduction=reduction),
         (2, 3, 0)),
        (lambda a: F.mse_loss(a, a.detach() + 1, reduction=reduction),
         lambda a: torch.nn.functional.mse_loss(a, a.detach() + 1, reduction=reduction), (0, 3)),
        (lambda a: F.binary_cross_entropy_with_logits(a, a.detach() * 0, reduction=reduction),
         lambda a: torch.nn.functional.binary_cross_entropy_with_logits(a, a.detach() * 0, reduction=reduction),
         (0, 2)),
    ]
    for ours, theirs, shape in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            (value, grad), (ref, ref_grad) = _grad_pair(torch, ours, theirs, np.zeros(shape))
        assert value.shape == ref.shape and grad.shape == ref_grad.shape
        np.testing.assert_array_equal(value, ref)  # NaN for 'mean', as nothing was counted


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_target_ignored_in_a_k_dimensional_batch_with_weights_and_smoothing(device, torch, reduction):
    rng = named_rng("all ignored")
    x, w = rng.standard_normal((2, 3, 2, 2)), rng.uniform(0.5, 2, 3)
    t = np.full((2, 2, 2), 1)
    (value, grad), (ref, ref_grad) = _grad_pair(
        torch, lambda a: F.cross_entropy(a, ag.tensor(t), weight=ag.tensor(w, dtype=ag.float64), ignore_index=1,
                                         label_smoothing=0.3, reduction=reduction),
        lambda a: torch.nn.functional.cross_entropy(a, torch.from_numpy(t), weight=torch.from_numpy(w),
                                                    ignore_index=1, label_smoothing=0.3, reduction=reduction), x)
    np.testing.assert_array_equal(value, ref)
    np.testing.assert_array_equal(grad, ref_grad)  # zeros, even where the mean is NaN


def test_uint8_segmentation_masks_with_ignore_index_255(device, torch):
    rng = named_rng("segmentation")
    x, w = rng.standard_normal((2, 4, 3)), rng.uniform(0.5, 2, 4)
    t = np.array([[0, 255, 3], [255, 1, 2]], dtype=np.uint8)
    tt = torch.from_numpy(t.astype(np.int64))
    (value, grad), (ref, ref_grad) = _grad_pair(
        torch, lambda a: F.cross_entropy(a, ag.tensor(t), weight=ag.tensor(w, dtype=ag.float64), ignore_index=255,
                                         label_smoothing=0.2),
        lambda a: torch.nn.functional.cross_entropy(a, tt, weight=torch.from_numpy(w), ignore_index=255,
                                                    label_smoothing=0.2), x)
    np.testing.assert_allclose(value, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("dtypes", [("float16", "float16"), ("float16", "float64"), ("float32", "float64")])
def test_loss_dtype_follows_torch_for_mixed_input_and_target(device, torch, name, dtypes):
    if "float16" in dtypes and device == "strict":
        pytest.skip("the Array API standard has no float16")
    rng = named_rng(name)
    x, y = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    ours = getattr(F, name)(ag.tensor(x, dtype=dtypes[0]), ag.tensor(y, dtype=dtypes[1]))
    ref = getattr(torch.nn.functional, name)(torch.tensor(x.astype(dtypes[0])), torch.tensor(y.astype(dtypes[1])))
    assert str(ours.dtype) == str(ref.dtype).removeprefix("torch.")
    np.testing.assert_allclose(float(ours.numpy()), float(ref), rtol=2e-3)


def test_negative_padding_idx_and_from_pretrained_unfrozen_match_torch(device, torch):
    w = named_rng("pretrained").standard_normal((5, 3))
    ours = nn.Embedding.from_pretrained(ag.tensor(w, dtype=ag.float64), freeze=False, padding_idx=-2)
    theirs = torch.nn.Embedding.from_pretrained(torch.from_numpy(w), freeze=False, padding_idx=-2)
    assert ours.padding_idx == theirs.padding_idx == 3 and repr(ours) == repr(theirs)
    ids = np.array([[3, 0], [3, 4]])
    ours(ag.tensor(ids)).sum().backward()
    theirs(torch.from_numpy(ids)).sum().backward()
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


def test_an_out_of_range_id_with_max_norm_changes_nothing(device):
    w = named_rng("out of range").standard_normal((4, 3)) * 5
    wo = ag.tensor(w, dtype=ag.float64, requires_grad=True)
    with pytest.raises(IndexError, match="index 4 is out of range"):
        F.embedding(ag.tensor([[0, 1], [4, 2]]), wo, max_norm=1.0)
    np.testing.assert_array_equal(wo.numpy(), w)


def _nested_order(lib, x):
    seen = []
    model = lib.Sequential(lib.Identity(), lib.Identity())
    for name, module in [("outer", model), ("0", model[0]), ("1", model[1])]:
        module.register_forward_pre_hook(lambda m, args, n=name: seen.append(f"pre {n}"))
        module.register_forward_hook(lambda m, args, out, n=name: seen.append(f"post {n}"))
    model[0].register_forward_pre_hook(lambda m, args: args[0] * 2)  # not a tuple: wrapped as one
    return seen, float(model(x)[0])


def test_hooks_on_children_run_in_torch_order_and_a_bare_replacement_is_wrapped(device, torch):
    assert _nested_order(nn, ag.ones(1)) == _nested_order(torch.nn, torch.ones(1)) == (
        ["pre outer", "pre 0", "post 0", "pre 1", "post 1", "post outer"], 2.0)

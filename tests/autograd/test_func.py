"""ag.func's transforms (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian) called the wrong
way: the errors name the transform that was called and the fix. The comparisons of their values
with torch.func are in test_func_against_torch.py."""
import pytest

import autograd as ag


@pytest.mark.parametrize("name, make, usage", [
    ("grad", lambda f: ag.func.grad(f), r"grad\(f\)\(x\)"),
    ("grad_and_value", lambda f: ag.func.grad_and_value(f), r"grad_and_value\(f\)\(x\)"),
    ("vjp", lambda f: ag.func.vjp(f, ag.ones(2)), r"vjp\(f, x\)"),
    ("jvp", lambda f: ag.func.jvp(f, (ag.ones(2),), (ag.ones(2),)), r"jvp\(f, \(x,\), \(v,\)\)"),
    ("jacrev", lambda f: ag.func.jacrev(f), r"jacrev\(f\)\(x\)"),
    ("jacfwd", lambda f: ag.func.jacfwd(f), r"jacfwd\(f\)\(x\)"),
    ("hessian", lambda f: ag.func.hessian(f), r"hessian\(f\)\(x\)"),
], ids=["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"])
def test_a_transform_given_the_functions_result_says_to_pass_the_function(name, make, usage):
    """grad(f(x))(x) failed only when called, with "'Tensor' object is not callable"."""
    x = ag.ones(2)
    with pytest.raises(TypeError, match=rf"^{name}: expected the function to transform, got Tensor; pass the "
                                        rf"function itself, as in {usage}, not its result"):
        make((x * x).sum())


@pytest.mark.parametrize("name, keyword", [("jacrev", "randomness"), ("jacfwd", "chunk_size")])
def test_jacobians_name_themselves_for_a_keyword_they_do_not_take(name, keyword):
    """Each takes the other's keyword in neither PyTorch nor topograd."""
    with pytest.raises(TypeError, match=rf"^{name}\(\) got an unexpected keyword argument '{keyword}'"):
        getattr(ag.func, name)(lambda x: x, **{keyword: 1})


@pytest.mark.parametrize("chunk_size, error, words", [
    (0, ValueError, "got 0"), (-2, ValueError, "got -2"), (1.5, TypeError, "got float"), (True, TypeError, "got bool"),
    ("4", TypeError, "got str")])
def test_jacrev_refuses_a_chunk_size_that_is_not_a_positive_int(chunk_size, error, words):
    with pytest.raises(error, match=rf"^jacrev: chunk_size must be None or a positive int, {words}$"):
        ag.func.jacrev(lambda x: x, chunk_size=chunk_size)


@pytest.mark.parametrize("randomness", ["bad", None, "Same"])
def test_jacfwd_refuses_a_randomness_pytorch_does_not_know(randomness):
    with pytest.raises(ValueError, match=r"^jacfwd: randomness must be 'error', 'different' or 'same', got "):
        ag.func.jacfwd(lambda x: x, randomness=randomness)


@pytest.mark.parametrize("transform", ["grad", "grad_and_value"])
def test_grad_and_value_errors_name_the_transform_called(transform):
    """grad_and_value's errors said 'grad:'."""
    f = getattr(ag.func, transform)
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=rf"^{transform}: argnums 3 is out of range"):
        f(lambda x: (x * x).sum(), argnums=3)(x)
    with pytest.raises(ValueError, match=rf"^{transform}: the function must return a Tensor of one element"):
        f(lambda x: x * x)(x)
    with pytest.raises(TypeError, match=rf"^{transform}: with has_aux=True the function must return a pair"):
        f(lambda x: (x * x).sum(), has_aux=True)(x)

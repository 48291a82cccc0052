"""L-BFGS findings of the nn dtype fuzz: float16 curvature that rounds to 0, and a
state dict holding the empty entry that reading ``optimizer.state[p]`` leaves."""
import warnings

import numpy as np

import autograd as ag
import nn


def _quartic_problem(parameter, tensor, starts, targets):
    params = [parameter(tensor(s.copy())) for s in starts]

    def loss_of():
        return sum(((p - tensor(t)) ** 4).sum() for p, t in zip(params, targets))
    return params, loss_of


def test_float16_lbfgs_whose_gradient_change_squares_to_zero_steps_as_torch(torch):
    """y.y rounds to 0 in float16 while y.s does not: H_diag = y.s / y.y raised
    ZeroDivisionError; PyTorch's tensor division gives inf, and both go on to NaN."""
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=s).astype(np.float16) for s in ((4, 3), (3,))]
    targets = [rng.normal(size=s.shape).astype(np.float16) for s in starts]
    ours, our_loss = _quartic_problem(nn.Parameter, ag.tensor, starts, targets)
    theirs, their_loss = _quartic_problem(torch.nn.Parameter, torch.tensor, starts, targets)
    opt, ref = nn.optim.LBFGS(ours, lr=0.5), torch.optim.LBFGS(theirs, lr=0.5)

    def closure():
        opt.zero_grad()
        loss = our_loss()
        loss.backward()
        return loss

    def torch_closure():
        ref.zero_grad()
        loss = their_loss()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf * 0 in the two-loop recursion
        for _ in range(3):
            got, expected = opt.step(closure).item(), ref.step(torch_closure).item()
            np.testing.assert_allclose(got, expected, rtol=2e-3)  # NaN where PyTorch's is NaN


def test_lbfgs_loads_a_state_dict_with_an_empty_entry_for_a_later_parameter(torch):
    """Reading optimizer.state[q] leaves an empty entry, which state_dict() saves;
    load_state_dict refused it as a second state ("LBFGS keeps one"), PyTorch's loads."""
    def make():
        p = nn.Parameter(ag.tensor([1.0, -2.0, 0.5], dtype="float64"))
        q = nn.Parameter(ag.tensor([0.3, 4.0], dtype="float64"))
        return p, q, nn.optim.LBFGS([p, q], max_iter=3)

    def closure_for(opt, p, q):
        def closure():
            opt.zero_grad()
            loss = (p ** 2 * ag.tensor([1.0, 2.0, 3.0], dtype="float64")).sum() + ((q - 1) ** 2).sum()
            loss.backward()
            return loss
        return closure

    p, q, opt = make()
    opt.step(closure_for(opt, p, q))
    opt.state[q]  # noqa: B018 (the read itself leaves the empty entry)
    saved = opt.state_dict()
    assert saved["state"][1] == {}
    p2, q2, resumed = make()
    with ag.no_grad():
        p2.copy_(p)
        q2.copy_(q)
    resumed.load_state_dict(saved)
    opt.step(closure_for(opt, p, q))
    resumed.step(closure_for(resumed, p2, q2))
    np.testing.assert_array_equal(p2.numpy(), p.numpy())
    np.testing.assert_array_equal(q2.numpy(), q.numpy())

"""Regressions for what the review of 2d650a2..2cdcdeb found."""
import warnings

import autograd as ag
import nn
from tests.test_no_reference_cycles import assert_no_cycles


def test_backward_pre_hook_with_no_input_grad_leaves_no_cycle_under_create_graph():
    # The pre-hooks' grad_output was kept on the call's hooks although no inputs' node would
    # ever clear it; under create_graph it leads back to the outputs' node: a cycle.
    def run():
        ag.manual_seed(0)
        layer = nn.Linear(3, 2)
        seen = []
        layer.register_full_backward_pre_hook(lambda module, grad_output: seen.append(len(grad_output)))
        out = layer(ag.randn(4, 3))  # data: no input requires grad
        ag.grad((out ** 2).sum(), [layer.weight], create_graph=True)
        assert seen == [1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_no_cycles(run, "a module's backward pre-hook under create_graph")


def test_step_hooks_still_run_once_around_an_overriding_step():
    calls = []

    class Logged(nn.optim.SGD):
        def step(self, closure=None):
            calls.append("step")
            return super().step(closure)

    weight = nn.Parameter(ag.ones(2))
    weight.grad = ag.ones(2)
    opt = Logged([weight], lr=0.5)
    opt.step()  # no hooks: the plain route
    handle = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    global_handle = nn.optim.register_optimizer_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    try:
        opt.step()
    finally:
        handle.remove()
        global_handle.remove()
    opt.step()
    assert calls == ["step", "pre", "step", "post", "step"]
    assert weight.tolist() == [-0.5, -0.5]

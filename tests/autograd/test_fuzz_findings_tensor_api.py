"""What a differential fuzz of the Tensor's conversion and Python-protocol API and of the
backends API against PyTorch found: default_device blocks that leaked across threads, copies
between devices that aliased their source (cpu and strict share host memory), a float16
tensor reaching the strict backend with array-api-strict's own message, ag.tensor(t) moving
t to the default device, and a bad TOPOGRAD_DEVICE failing at import without naming it."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import autograd as ag
import backends

HAS_STRICT = "strict" in backends.available_devices()
needs_strict = pytest.mark.skipif(not HAS_STRICT, reason="needs array-api-strict")


# --- default_device is per thread, as PyTorch's `with torch.device(...)` ------------------
@needs_strict
def test_a_default_device_block_in_one_thread_leaves_other_threads_alone():
    inside, release = threading.Event(), threading.Event()
    seen = []

    def worker():
        with ag.default_device("strict"):
            seen.append(ag.zeros(1).device)
            inside.set()
            release.wait(10)

    home = ag.zeros(1).device  # the process' default (cuda:0 under TOPOGRAD_DEVICE=cuda)
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert inside.wait(10)
        assert ag.zeros(1).device == home  # was 'strict': the worker's block reached this thread
    finally:
        release.set()
        thread.join()
    assert seen == ["strict"]


@needs_strict
def test_default_device_blocks_that_end_out_of_order_across_threads_restore_each_threads_default():
    # Thread A enters strict, thread B enters cpu, A leaves, then B leaves: with one process-wide
    # default, B's exit restored A's 'strict' and left it as everyone's default for good.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}
    home = ag.zeros(1).device  # the process' default (cuda:0 under TOPOGRAD_DEVICE=cuda)

    def thread_a():
        with ag.default_device("strict"):
            a_in.set()
            b_in.wait(10)
        seen["a after"] = ag.zeros(1).device
        a_out.set()

    def thread_b():
        a_in.wait(10)
        with ag.default_device("cpu"):
            b_in.set()
            a_out.wait(10)
            seen["b inside"] = ag.zeros(1).device
        seen["b after"] = ag.zeros(1).device

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a after": home, "b inside": "cpu", "b after": home}
    assert ag.zeros(1).device == home and backends.get_default().device == home


@needs_strict
def test_set_default_device_still_reaches_new_threads_outside_a_block():
    home = ag.zeros(1).device
    previous = backends.set_default_device("strict")
    try:
        seen = []
        thread = threading.Thread(target=lambda: seen.append(ag.zeros(1).device))
        thread.start()
        thread.join()
        assert seen == ["strict"]
    finally:
        backends.set_default_device(previous)
    assert ag.zeros(1).device == home


def test_a_bad_topograd_device_names_the_environment_variable():
    env = dict(os.environ, TOPOGRAD_DEVICE="tpu")
    out = subprocess.run([sys.executable, "-c", "import autograd"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: the environment variable TOPOGRAD_DEVICE='tpu': unknown device 'tpu'")


# --- a copy to another device never aliases its source, as PyTorch's .to ----------------------
@needs_strict
@pytest.mark.parametrize("source, target", [("cpu", "strict"), ("strict", "cpu")])
def test_to_another_device_copies(source, target):
    x = ag.tensor([1.0, 2.0], device=source)
    y = x.to(target)
    x += 10.0  # was seen through y: both held one host buffer, each with its own version counter
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    y += 100.0
    np.testing.assert_array_equal(x.numpy(), [11.0, 12.0])


@needs_strict
def test_the_tensor_constructor_copies_a_tensor_from_another_device():
    x = ag.tensor([1.0, 2.0], device="strict")
    y = ag.Tensor(x, device="cpu")  # (from cpu to strict it copied already)
    assert y.device == "cpu"
    y += 1.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


@needs_strict
def test_module_to_another_device_and_back_leaves_a_copy_it_moved_from_alone():
    nn = pytest.importorskip("nn")
    layer = nn.Linear(2, 2)
    before = layer.weight.numpy(force=True).copy()
    kept = layer.weight.detach().to("strict")
    layer.to("strict")
    layer.to("cpu")
    with ag.no_grad():
        layer.weight += 1.0
    np.testing.assert_array_equal(kept.numpy(), before)


# --- the strict backend refuses float16 by its own message on every way in -------------------
@needs_strict
@pytest.mark.parametrize("make", [
    lambda: ag.rand(2, dtype="float16", device="strict"),
    lambda: ag.randn(2, dtype="float16", device="strict"),
    lambda: ag.rand_like(ag.ones(2, dtype="float16"), device="strict"),
    lambda: ag.ones(2, dtype="float16").to("strict"),
    lambda: ag.ones(2).to("strict", "float16"),
], ids=["rand", "randn", "rand_like", "to", "to-with-dtype"])
def test_strict_refuses_float16_naming_the_device(make):
    # was array-api-strict's "The array_api_strict namespace does not support the dtype 'float16'"
    with pytest.raises(TypeError, match="device 'strict' has no float16: the Array API standard does not define it"):
        make()


# --- ag.tensor(t) keeps t's device, as torch.tensor(t) -----------------------------------------
@needs_strict
def test_tensor_of_a_tensor_keeps_its_device_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning):  # PyTorch's advice to use .detach().clone()
        assert torch.tensor(torch.ones(2, device="meta")).device.type == "meta"
    source = ag.tensor([1.0, 2.0], dtype="float64", device="strict")
    copied = ag.tensor(source)
    assert copied.device == "strict" and copied.dtype == ag.float64  # the device was the default, cpu
    copied += 1.0
    np.testing.assert_array_equal(source.numpy(), [1.0, 2.0])
    assert ag.tensor(source, device="cpu").device == "cpu"


def test_to_device_takes_a_device_name_as_tensor_to_does(device):
    """ag.to_device took only a Backend object: "cpu" raised AttributeError ('str' object
    has no attribute 'from_numpy')."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.to_device(x, "cpu")
    assert y.device == "cpu"
    assert (y is x) == (device == "cpu")
    (y * ag.tensor([3.0, 4.0], device="cpu")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert x.grad.device == device
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        ag.to_device(x, "gpu")
    with pytest.raises(TypeError, match="expected a Tensor, got list"):
        ag.to_device([1.0], "cpu")

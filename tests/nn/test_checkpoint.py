"""nn.save / nn.load: safetensors round trips, atomic writes, damaged files, PyTorch interop."""
import json
import os
import sys
import zlib

import numpy as np
import pytest
import safetensors.numpy

import autograd as ag
import backends
import nn
import nn.checkpoint as checkpoint


class Linear(nn.Module):
    """y = x W^T + b with PyTorch's parameter names and shapes (weight is (out, in))."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(ag.randn(n_out, n_in) * 0.5)
        self.bias = nn.Parameter(ag.randn(n_out) * 0.1)

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Net(nn.Module):
    """Twin of TorchNet below: same names, shapes and computation."""

    def __init__(self, n_in=3, hidden=4, n_out=2):
        super().__init__()
        self.fc1 = Linear(n_in, hidden)
        self.fc2 = Linear(hidden, n_out)
        self.register_buffer("scale", ag.tensor([1.5, -2.0]))
        self.register_buffer("calls", ag.tensor(7))  # an int64 buffer

    def forward(self, x):
        return self.fc2(self.fc1(x).relu()) * self.scale


def values(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def assert_state_equal(actual, expected):
    assert list(actual) == list(expected)
    for key in expected:
        a, e = np.asarray(actual[key]), np.asarray(expected[key])
        assert a.dtype == e.dtype, key
        np.testing.assert_array_equal(a, e, err_msg=key)


def test_round_trip_is_exact(device, tmp_path):
    model = Net()
    path = tmp_path / "model.safetensors"
    nn.save(model.state_dict(), path)
    loaded = nn.load(path)
    assert all(t.device == backends.get(device).device for t in loaded.values())
    assert_state_equal({k: t.numpy() for k, t in loaded.items()}, values(model))
    fresh = Net()
    fresh.load_state_dict(loaded)
    assert_state_equal(values(fresh), values(model))
    assert nn.load(path, device="cpu")["fc1.weight"].device == "cpu"


def test_strided_tensors_are_saved_in_logical_order(device, tmp_path):
    base = ag.tensor(np.arange(12, dtype=np.float64).reshape(3, 4))
    path = tmp_path / "t.safetensors"
    nn.save({"t": base.T, "row": base[1], "every_other": base[:, ::2]}, path)
    loaded = nn.load(path)
    np.testing.assert_array_equal(loaded["t"].numpy(), np.arange(12.0).reshape(3, 4).T)
    np.testing.assert_array_equal(loaded["row"].numpy(), [4, 5, 6, 7])
    np.testing.assert_array_equal(loaded["every_other"].numpy(), [[0, 2], [4, 6], [8, 10]])


def test_saved_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    nn.save(Net().state_dict(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failure", ["rename", "writer"])
def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch, failure):
    path = tmp_path / "model.safetensors"
    good = Net()
    nn.save(good.state_dict(), path)
    before = path.read_bytes()

    if failure == "rename":
        def broken(src, dst):
            raise OSError("disk full (simulated)")
        monkeypatch.setattr(os, "replace", broken)
    else:
        def broken(tensors, filename, metadata=None):
            with open(filename, "wb") as f:  # half a file, then the crash
                f.write(b"\x10\x00\x00\x00")
            raise OSError("killed mid-write (simulated)")
        monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="simulated"):
        nn.save(Net(n_in=5).state_dict(), path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    assert_state_equal({k: t.numpy() for k, t in nn.load(path).items()}, values(good))


def test_bad_state_is_rejected_before_writing(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="not a topograd Tensor"):
        nn.save({"w": np.ones(2)}, path)
    with pytest.raises(TypeError, match="str -> str"):
        nn.save({"w": ag.ones(2)}, path, metadata={"epoch": 3})
    with pytest.raises(ValueError, match="reserved"):
        nn.save({"w": ag.ones(2)}, path, metadata={"format": "x"})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.save({"w": ag.ones(2)}, tmp_path / "no" / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def damaged_variants(data):
    header = int.from_bytes(data[:8], "little")
    flipped = bytearray(data)
    flipped[8 + header + 3] ^= 0xFF  # one byte of tensor data
    return {
        "truncated": (data[: len(data) - 10], "not a valid safetensors"),
        "garbage": (b"this is not a checkpoint at all", "not a valid safetensors"),
        "empty": (b"", "not a valid safetensors"),
        "bit flip": (bytes(flipped), "fails its checksum"),
    }


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "bit flip"])
def test_damaged_file_raises_and_changes_nothing(device, tmp_path, kind):
    path = tmp_path / "model.safetensors"
    nn.save(Net().state_dict(), path)
    data, message = damaged_variants(path.read_bytes())[kind]
    path.write_bytes(data)
    model = Net()
    before = values(model)
    with pytest.raises(ValueError, match=message) as info:
        model.load_state_dict(nn.load(path))
    assert str(path) in str(info.value)
    assert_state_equal(values(model), before)


def rewrite_metadata(path, change):
    """Rewrite the checkpoint at ``path`` with its tensors as they are and ``change``
    applied to its metadata dict (as a damaged file, or an older version, would have it);
    ``change`` may take the tensors too, as a second argument."""
    with safetensors.safe_open(str(path), framework="np") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        metadata = dict(f.metadata())
    if change.__code__.co_argcount == 2:
        change(metadata, tensors)
    else:
        change(metadata)
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)


def edit_json(entry, old, new):
    def change(metadata):
        assert metadata[entry].count(old) == 1
        metadata[entry] = metadata[entry].replace(old, new)
    return change


@pytest.mark.parametrize("entry, old, new", [
    ("topograd", '"lr":0.001', '"lr":0.003'),  # a hyperparameter, still valid JSON
    ("topograd", '"amsgrad"', '"!msgrad"'),  # a key the optimizer would then ignore
    ("topograd", '"optimizer.state.0.step":', '"optimizer.state.9.step":'),  # a tensor's checksum lost
    ("epoch", "12", "13"),  # the user's own metadata
], ids=["hyperparameter", "key", "checksum table", "user metadata"])
def test_damaged_metadata_fails_its_checksum_and_changes_nothing(device, tmp_path, entry, old, new):
    """These bit flips were valid JSON, so the damaged file loaded without a word."""
    path = tmp_path / "ckpt.safetensors"
    model = Net()
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-3)
    model(ag.randn(2, 3)).sum().backward()
    optimizer.step()
    nn.save(model, path, optimizer=optimizer, metadata={"epoch": "12"})
    rewrite_metadata(path, edit_json(entry, old, new))
    fresh = Net()
    fresh_optimizer = nn.optim.Adam(fresh.parameters(), lr=0.5)
    before = values(fresh)
    with pytest.raises(ValueError, match="metadata fails its checksum; the file is corrupt") as info:
        nn.restore(path, fresh, fresh_optimizer)
    assert str(path) in str(info.value)
    assert_state_equal(values(fresh), before)
    assert fresh_optimizer.param_groups[0]["lr"] == 0.5 and not fresh_optimizer.state


def test_a_damaged_dtype_or_shape_in_the_header_fails_the_tensors_checksum(device, tmp_path):
    """The bytes of a tensor keep their CRC when the header's dtype flips from F32 to I32
    or its shape from (4, 3) to (3, 4): the weight then loaded as garbage integers."""
    path = tmp_path / "ckpt.safetensors"
    nn.save(Net(), path)
    data = path.read_bytes()
    for old, new in ((b'"dtype":"F32"', b'"dtype":"I32"'), (b'"shape":[4,3]', b'"shape":[3,4]')):
        assert old in data
        path.write_bytes(data.replace(old, new, 1))
        model = Net()
        before = values(model)
        with pytest.raises(ValueError, match="fails its checksum; the file is corrupt"):
            model.load_state_dict(nn.load(path))
        assert_state_equal(values(model), before)


@pytest.mark.parametrize("damage", ["version", "key"])
def test_damage_cannot_skip_the_metadata_checksum(device, tmp_path, damage):
    """A version flipped to 1 (which has no metadata checksum) beside a damaged learning
    rate, or our JSON's key flipped (which made the file read as a foreign one, its
    optimizer tensors as model keys), loaded without a word."""
    path = tmp_path / "ckpt.safetensors"
    model = Net()
    nn.save(model, path, optimizer=nn.optim.SGD(model.parameters(), lr=0.5))

    def change(metadata):
        if damage == "version":
            metadata["topograd"] = metadata["topograd"].replace('"version":2', '"version":1').replace(
                '"lr":0.5', '"lr":0.9')
        else:
            metadata["topogsad"] = metadata.pop("topograd")
    rewrite_metadata(path, change)
    message = "metadata fails its checksum" if damage == "version" else "'topograd' metadata is missing"
    with pytest.raises(ValueError, match=message):
        nn.restore(path, Net(), nn.optim.SGD(Net().parameters(), lr=0.1))


def as_version_1(metadata, tensors):
    """A format-1 file: no checksum of the metadata, and tensor checksums of the bytes alone."""
    metadata.pop("topograd_crc32")
    info = json.loads(metadata["topograd"])
    info["version"] = 1
    info["crc32"] = {name: zlib.crc32(memoryview(np.ascontiguousarray(tensors[name]))) if name in tensors else crc
                     for name, crc in info["crc32"].items()}
    metadata["topograd"] = json.dumps(info, separators=(",", ":"))


def test_a_tensor_without_its_checksum_is_refused(device, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    nn.save(Net(), path)
    rewrite_metadata(path, edit_json("topograd", '"fc1.weight":', '"fc1.wEight":'))
    with pytest.raises(ValueError, match="metadata fails its checksum"):
        nn.load(path)
    rewrite_metadata(path, as_version_1)  # where no metadata checksum can catch it
    with pytest.raises(ValueError, match=r"no checksums for tensors \['fc1.weight'\]"):
        nn.load(path)


def test_a_version_1_checkpoint_still_loads(device, tmp_path):
    """Files written before the metadata checksum (format version 1) load as they did."""
    path = tmp_path / "ckpt.safetensors"
    model = Net()
    nn.save(model, path, metadata={"epoch": "4"})
    rewrite_metadata(path, as_version_1)
    assert_state_equal({k: v.numpy() for k, v in nn.load(path).items()}, values(model))
    assert nn.load_metadata(path) == {"epoch": "4"}


def test_a_format_version_this_topograd_does_not_read_is_refused_by_name(tmp_path):
    """A file from a later format (its metadata checksum intact) is refused up front, not read
    as if it were this one."""
    path = tmp_path / "ckpt.safetensors"
    nn.save(Net(), path)

    def as_version_9(metadata):
        info = json.loads(metadata["topograd"])
        info["version"] = 9
        metadata["topograd"] = json.dumps(info, separators=(",", ":"))
        metadata["topograd_crc32"] = str(checkpoint._metadata_crc(metadata))
    rewrite_metadata(path, as_version_9)
    with pytest.raises(ValueError, match=r"checkpoint format version 9 is not one this topograd reads \(versions 1, 2\)"):
        nn.load(path)


def test_wrong_model_raises_and_changes_nothing(device, tmp_path):
    path = tmp_path / "model.safetensors"
    nn.save(Net(hidden=4).state_dict(), path)
    other = Net(hidden=5)
    before = values(other)
    with pytest.raises(ValueError, match="fc1.weight: expected shape"):
        other.load_state_dict(nn.load(path))
    assert_state_equal(values(other), before)
    nn.save({"fc1.weight": ag.zeros(5, 3)}, path)
    with pytest.raises(ValueError, match="missing keys"):
        other.load_state_dict(nn.load(path))
    assert_state_equal(values(other), before)


def test_optimizer_state_round_trip(device, tmp_path):
    state = {
        "state": {0: {"step": ag.tensor(3.0, device="cpu"), "exp_avg": ag.randn(2, 3), "count": 4},
                  2: {"momentum_buffer": ag.randn(5)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "weight_decay": 0.0, "amsgrad": False,
                          "foreach": None, "params": [0, 1, 2]}],
    }
    path = tmp_path / "ckpt.safetensors"
    model = Net()
    nn.save(model.state_dict(), path, optimizer=state, metadata={"epoch": "12"})
    restored = nn.load_optimizer_state(path)
    assert restored["param_groups"] == state["param_groups"]  # tuples stay tuples, None stays None
    assert sorted(restored["state"]) == [0, 2]  # integer keys come back as integers
    assert restored["state"][0]["count"] == 4
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, ag.Tensor):
                got = restored["state"][index][name]
                assert got.device == backends.get(device).device and got.dtype == value.dtype
                np.testing.assert_array_equal(got.numpy(), value.numpy())
    assert list(nn.load(path)) == list(model.state_dict())  # optimizer entries stay out of the model's
    assert nn.load_metadata(path) == {"epoch": "12"}
    nn.save(model.state_dict(), path)
    with pytest.raises(KeyError, match="no optimizer state"):
        nn.load_optimizer_state(path)


def test_optimizer_object_round_trip(tmp_path):
    optim = pytest.importorskip("nn.optim")
    model = Net()
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        (model(ag.randn(4, 3)) ** 2).mean().backward()
        opt.step()
    path = tmp_path / "ckpt.safetensors"
    nn.save(model.state_dict(), path, optimizer=opt)
    twin = Net()
    twin.load_state_dict(nn.load(path))
    twin_opt = optim.Adam(twin.parameters(), lr=0.5)
    twin_opt.load_state_dict(nn.load_optimizer_state(path))
    assert twin_opt.param_groups[0]["lr"] == 0.01
    x = ag.randn(4, 3)
    for m, o in ((model, opt), (twin, twin_opt)):  # one more step from the same state
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()
    assert_state_equal(values(twin), values(model))


# --- PyTorch interop --------------------------------------------------------------------------

def torch_net(torch):
    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 4)
            self.fc2 = torch.nn.Linear(4, 2)
            self.register_buffer("scale", torch.tensor([0.5, 3.0]))
            self.register_buffer("calls", torch.tensor(2))

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x))) * self.scale
    return TorchNet()


def test_topograd_checkpoint_loads_in_pytorch(torch, tmp_path):
    from safetensors.torch import load_file
    model = Net()
    path = tmp_path / "model.safetensors"
    nn.save(model.state_dict(), path)
    reference = torch_net(torch)
    reference.load_state_dict(load_file(str(path)))  # strict: same keys, shapes and dtypes
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(ag.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert reference.calls.item() == 7


def test_pytorch_checkpoint_loads_in_topograd(torch, device, tmp_path):
    from safetensors.torch import save_file
    reference = torch_net(torch)
    path = tmp_path / "torch.safetensors"
    save_file(reference.state_dict(), str(path))
    model = Net()
    model.load_state_dict(nn.load(path))
    expected = {k: v.numpy() for k, v in reference.state_dict().items()}
    assert_state_equal({k: values(model)[k] for k in expected}, expected)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(model(ag.tensor(x)).numpy(), reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_bfloat16_pytorch_file_gets_a_clear_error(torch, tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / "bf16.safetensors"
    save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(ValueError, match="BF16"):
        nn.load(path)



def test_a_float16_checkpoint_loads_where_the_device_holds_float16_and_says_why_not_elsewhere(device, tmp_path):
    """On the 'strict' device (no float16 in the Array API standard) nn.load failed deep in
    array-api-strict, naming neither the file nor the tensor; now it says both and the fix,
    before reading any tensor. Elsewhere the float16 values come back exactly."""
    path = tmp_path / "half.safetensors"
    weight = np.random.default_rng(3).standard_normal((2, 3)).astype(np.float16)
    nn.save({"bias": ag.zeros(3), "weight": ag.tensor(weight, device="cpu")}, path)  # (strict cannot make it)
    if device == "strict":
        with pytest.raises(TypeError, match=r"half.safetensors: tensor 'weight' is float16, which device 'strict' "
                                            r"cannot hold .*no float16.*; load the checkpoint with device='cpu'"):
            nn.load(path)
    else:
        loaded = nn.load(path)
        assert loaded["weight"].dtype == ag.float16 and loaded["weight"].device == backends.get(device).device
        np.testing.assert_array_equal(loaded["weight"].numpy(), weight)
    on_cpu = nn.load(path, device="cpu")  # the fix the message names
    np.testing.assert_array_equal(on_cpu["weight"].numpy(), weight)
    assert on_cpu["bias"].dtype == ag.float32


def test_restore_is_all_or_nothing_and_names_the_file(device, tmp_path):
    optim = pytest.importorskip("nn.optim")
    path = tmp_path / "ckpt.safetensors"
    source = Net()
    source_opt = optim.SGD(source.parameters(), lr=0.2, momentum=0.9)
    source_opt.zero_grad()
    (source(ag.randn(3, 3)) ** 2).mean().backward()
    source_opt.step()
    nn.save(source.state_dict(), path, optimizer=source_opt)

    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    nn.restore(path, model, opt)
    assert_state_equal(values(model), values(source))
    assert opt.param_groups[0]["lr"] == 0.2
    momentum = [opt.state[p]["momentum_buffer"].numpy() for p in model.parameters()]
    expected = [source_opt.state[p]["momentum_buffer"].numpy() for p in source.parameters()]
    for got, want in zip(momentum, expected):
        np.testing.assert_array_equal(got, want)

    wrong = Net(hidden=6)
    before = values(wrong)
    with pytest.raises(ValueError, match="does not fit this model") as info:
        nn.restore(path, wrong)
    assert str(path) in str(info.value) and "fc1.weight" in str(info.value)
    assert_state_equal(values(wrong), before)

    # The model fits but the optimizer does not (one param group fewer): the model is put back.
    fresh = Net()
    before = values(fresh)
    params = list(fresh.parameters())
    split_opt = optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="optimizer state does not fit"):
        nn.restore(path, fresh, split_opt)
    assert_state_equal(values(fresh), before)


def test_loading_a_directory_says_so(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory; pass the checkpoint file"):
        nn.load(tmp_path)


# Past Python's recursion limit (the decoder's; json's too before 3.12), and past json's C limit
@pytest.mark.parametrize("depth", [sys.getrecursionlimit() + 100, 100_000], ids=["past Python's limit", "past json's"])
def test_a_skeleton_nested_past_the_recursion_limit_is_a_corrupt_file(tmp_path, depth):
    """Nesting that no save writes (an optimizer skeleton of lists within lists, with the
    metadata checksum made to match) raised RecursionError from the reader."""
    path = tmp_path / "ckpt.safetensors"
    model = Net()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    nn.save(model, path, optimizer=optimizer)

    def nest(metadata):
        info = json.loads(metadata["topograd"])
        info["optimizer"]["param_groups"][0]["lr"] = "PLACE"
        metadata["topograd"] = json.dumps(info).replace('"PLACE"', "[" * depth + "]" * depth)
        metadata[nn.checkpoint.METADATA_CRC_KEY] = str(nn.checkpoint._metadata_crc(metadata))

    rewrite_metadata(path, nest)
    before = values(model)
    with pytest.raises(ValueError, match="the file is corrupt"):
        nn.restore(path, model, optimizer)
    assert_state_equal(values(model), before)
    assert optimizer.param_groups[0]["lr"] == 0.1


# --- what nn.save refuses -------------------------------------------------------------------------

def test_save_of_a_torch_tensor_names_torch_and_the_conversion(device, torch, tmp_path):
    """Now: "state['a'] is a Tensor, not a Tensor"."""
    with pytest.raises(TypeError, match=r"torch"):
        nn.save({"a": torch.ones(2)}, tmp_path / "x.safetensors")


def test_save_to_a_directory_names_it_and_leaves_nothing_behind(device, tmp_path):
    """Now "[Errno 21] Is a directory: '.../.tmp_xyz.1a2b3c4d.tmp' -> '...'": the name
    of our temporary file, not the fix (nn.load already says so for a directory)."""
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"nn\.save: .*run is a directory; pass a file path inside it"):
        nn.save(nn.Linear(2, 2).state_dict(), folder)
    assert os.listdir(folder) == [] and sorted(os.listdir(tmp_path)) == ["run"]


# --- nn.restore: all or nothing, an optimizer's post-hook error included --------------------------

def test_restore_puts_the_optimizer_back_when_its_load_post_hook_raises(tmp_path):
    """The post-hook runs after load_state_dict has swapped in the checkpoint's groups and
    state; the undo of the optimizer was registered only once its load had succeeded, so the
    model went back and the optimizer kept the refused checkpoint's lr and momentum."""
    path = tmp_path / "sgd.safetensors"
    model = nn.Linear(3, 2)
    saved_optimizer = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(ag.ones(4, 3)).sum().backward()
    saved_optimizer.step()
    nn.save(model, path, saved_optimizer)

    model = nn.Linear(3, 2)
    weight = model.weight.numpy().copy()
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5)
    groups, state = optimizer.param_groups, optimizer.state

    def refuse(opt):
        raise ValueError("post-hook refuses")

    optimizer.register_load_state_dict_post_hook(refuse)
    with pytest.raises(ValueError, match="optimizer state does not fit this optimizer: post-hook refuses"):
        nn.restore(path, model, optimizer)
    assert optimizer.param_groups is groups and optimizer.state is state
    assert [group["lr"] for group in optimizer.param_groups] == [0.5]
    assert [group["momentum"] for group in optimizer.param_groups] == [0]
    assert len(optimizer.state) == 0
    np.testing.assert_array_equal(model.weight.numpy(), weight)


# --- a checkpoint replaced while it loads, and nn.restore with Lazy modules or an optimizer that
# refuses its state with another error than ValueError

def trained(steps, seed):
    """A small model and its Adam optimizer after ``steps`` steps."""
    ag.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = nn.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        model(ag.randn(5, 3)).square().mean().backward()
        optimizer.step()
    return model, optimizer


def assert_values_equal(actual, expected):
    assert list(actual) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


@pytest.fixture
def replaced_after_header(monkeypatch):
    """Makes the first checkpoint opened be replaced, as a save in another process does
    (an atomic rename), right after its header is read: ``arm(path, model, optimizer)``."""
    def arm(path, model, optimizer):
        parse_info = checkpoint._Checkpoint._parse_info
        pending = [True]

        def parse_then_replace(self):
            info = parse_info(self)
            if pending.pop() if pending else False:
                nn.save(model, path, optimizer=optimizer)
            return info
        monkeypatch.setattr(checkpoint._Checkpoint, "_parse_info", parse_then_replace)
    return arm


def test_a_checkpoint_replaced_while_it_loads_is_read_whole_from_the_file_first_opened(tmp_path,
                                                                                       replaced_after_header):
    """The reader reopened the path for the tensors: a newer checkpoint renamed over it
    meanwhile failed the old header's checksums ("the file is corrupt"), a good file
    reported as damaged."""
    path = tmp_path / "last.safetensors"
    old_model, old_optimizer = trained(1, seed=0)
    new_model, new_optimizer = trained(3, seed=1)
    nn.save(old_model, path, optimizer=old_optimizer)
    replaced_after_header(path, new_model, new_optimizer)
    loaded = {k: t.numpy() for k, t in nn.load(path).items()}
    assert_values_equal(loaded, values(old_model))
    assert_values_equal({k: t.numpy() for k, t in nn.load(path).items()}, values(new_model))  # the next load


def test_restore_takes_the_model_and_the_optimizer_from_one_file(tmp_path, replaced_after_header):
    """restore opened the file twice, once for the model and once for the optimizer: a
    checkpoint saved in between gave one file's weights with another's optimizer state
    (or, with the replacement after a header, a spurious checksum failure)."""
    path = tmp_path / "last.safetensors"
    old_model, old_optimizer = trained(1, seed=0)
    new_model, new_optimizer = trained(3, seed=1)
    nn.save(old_model, path, optimizer=old_optimizer)
    replaced_after_header(path, new_model, new_optimizer)
    model, optimizer = trained(0, seed=2)
    nn.restore(path, model, optimizer)
    assert_values_equal(values(model), values(old_model))
    state = optimizer.state_dict()["state"]
    assert float(state[0]["step"].numpy()) == 1.0
    np.testing.assert_array_equal(state[0]["exp_avg"].numpy(), old_optimizer.state_dict()["state"][0]["exp_avg"].numpy())


def lazy_model():
    return nn.Sequential(nn.Linear(3, 4), nn.LazyLinear(2))


def test_restore_into_lazy_modules_with_their_optimizer_resumes_training_exactly(tmp_path):
    """restore copied every state_dict tensor to undo with, and an uninitialized parameter has
    no values: restoring a model with Lazy modules and an optimizer raised "Attempted to use
    an uninitialized parameter", although load_state_dict then the optimizer's (as in PyTorch)
    worked."""
    ag.manual_seed(0)
    x = ag.randn(6, 3)
    model = lazy_model()
    optimizer = nn.optim.AdamW(model.parameters(), lr=0.05)

    def step(model, optimizer):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    for _ in range(2):
        step(model, optimizer)
    path = tmp_path / "ckpt.safetensors"
    nn.save(model, path, optimizer=optimizer)
    resumed = lazy_model()
    resumed_optimizer = nn.optim.AdamW(resumed.parameters(), lr=0.05)
    nn.restore(path, resumed, resumed_optimizer)
    for _ in range(2):
        step(model, optimizer)
        step(resumed, resumed_optimizer)
    assert type(resumed[1]) is nn.Linear
    assert_values_equal(values(resumed), values(model))


def test_a_refused_optimizer_state_leaves_the_initialized_part_of_a_lazy_model_unchanged(tmp_path):
    model = lazy_model()
    model(ag.randn(2, 3)).sum().backward()
    sgd = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sgd.step()
    path = tmp_path / "ckpt.safetensors"
    nn.save(model, path, optimizer=sgd)
    fresh = lazy_model()
    before = fresh[0].weight.numpy().copy(), fresh[0].bias.numpy().copy()
    adam = nn.optim.Adam(fresh.parameters(), lr=0.5)
    with pytest.raises(ValueError, match="optimizer state does not fit this optimizer: .*'exp_avg'") as info:
        nn.restore(path, fresh, adam)
    assert str(path) in str(info.value)
    np.testing.assert_array_equal(fresh[0].weight.numpy(), before[0])
    np.testing.assert_array_equal(fresh[0].bias.numpy(), before[1])
    assert not adam.state and adam.param_groups[0]["lr"] == 0.5


def test_restore_puts_the_model_back_whatever_the_optimizer_raises(tmp_path):
    """Only ValueError, KeyError and TypeError undid the model's load: an optimizer's
    load_state_dict pre-hook raising a RuntimeError left the model holding the checkpoint."""
    saved_model, saved_optimizer = trained(2, seed=0)
    path = tmp_path / "ckpt.safetensors"
    nn.save(saved_model, path, optimizer=saved_optimizer)
    model, optimizer = trained(0, seed=1)
    before = values(model)

    def refuse(optimizer, state_dict):
        raise RuntimeError("this run refuses every optimizer state")
    optimizer.register_load_state_dict_pre_hook(refuse)
    with pytest.raises(RuntimeError, match="refuses every optimizer state"):
        nn.restore(path, model, optimizer)
    assert_values_equal(values(model), before)
    assert not optimizer.state


class Tokenized(nn.Module):
    """A model with extra state beside its tensors: a word list, a table and a tuple."""

    def __init__(self, words=("a", "b")):
        super().__init__()
        self.net = Net()
        self.words, self.table, self.shape = list(words), ag.arange(3, dtype=ag.float32), (2, 3)

    def get_extra_state(self):
        return {"words": self.words, "table": self.table, "shape": self.shape}

    def set_extra_state(self, state):
        self.words, self.table, self.shape = list(state["words"]), state["table"], state["shape"]


def test_extra_state_round_trips_and_restore_puts_it_back(device, tmp_path):
    optim = pytest.importorskip("nn.optim")
    path = tmp_path / "ckpt.safetensors"
    source = Tokenized(["x", "y", "z"])
    source.table = ag.tensor([5.0, 6.0])
    nn.save(source, path, optimizer=optim.SGD(source.parameters(), lr=0.2))
    loaded = nn.load(path)
    assert loaded["_extra_state"]["words"] == ["x", "y", "z"] and loaded["_extra_state"]["shape"] == (2, 3)
    np.testing.assert_array_equal(loaded["_extra_state"]["table"].numpy(), [5.0, 6.0])

    model = Tokenized()
    nn.restore(path, model, optim.SGD(model.parameters(), lr=0.01))
    assert model.words == ["x", "y", "z"] and model.shape == (2, 3)
    np.testing.assert_array_equal(model.table.numpy(), [5.0, 6.0])
    assert_state_equal(values(model.net), values(source.net))

    # The model fits but the optimizer does not: its extra state goes back too
    fresh = Tokenized()
    params = list(fresh.parameters())
    with pytest.raises(ValueError, match="optimizer state does not fit"):
        nn.restore(path, fresh, optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1))
    assert fresh.words == ["a", "b"] and fresh.table.tolist() == [0.0, 1.0, 2.0]


def test_extra_state_that_a_checkpoint_cannot_hold_is_refused_before_writing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    model = Tokenized()
    model.words = [object()]
    with pytest.raises(TypeError, match=r"state at extra_state\._extra_state\.words\.0 is a object"):
        nn.save(model, path)
    assert not path.exists()


def test_state_entries_whose_dotted_paths_coincide_keep_their_own_tensors(tmp_path):
    """Each tensor of an optimizer's state is stored under its dotted path; {"a.b": x, "a": {"b": y}}
    and {1: x, "1": y} give two tensors one path, so the second overwrote the first and x came
    back holding y's values, without a word."""
    model = nn.Linear(2, 2)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    group = optimizer.param_groups[0]
    group["dotted"] = {"a.b": ag.tensor([1.0, 2.0]), "a": {"b": ag.tensor([3.0])}}
    group["mixed"] = {1: ag.tensor([4.0]), "1": ag.tensor([5.0, 6.0])}
    path = tmp_path / "ckpt.safetensors"
    nn.save(model, path, optimizer=optimizer)
    loaded = nn.load_optimizer_state(path)["param_groups"][0]
    assert loaded["dotted"]["a.b"].tolist() == [1.0, 2.0] and loaded["dotted"]["a"]["b"].tolist() == [3.0]
    assert loaded["mixed"][1].tolist() == [4.0] and loaded["mixed"]["1"].tolist() == [5.0, 6.0]
    assert list(nn.load(path)) == ["weight", "bias"]

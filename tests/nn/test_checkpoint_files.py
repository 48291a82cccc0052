"""nn.save / nn.load and the file system: permissions, paths, and files that are no checkpoint."""
import os
import pickle
import stat

import numpy as np
import pytest

import autograd as ag
import nn

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604], ids=oct)
def test_saving_over_a_checkpoint_keeps_its_permissions(tmp_path, mode):
    """The replacement took the umask's mode (0644): a checkpoint the user had made private
    (0600) became readable by everyone at the next save. open(path, "wb"), as torch.save and
    safetensors' save_file use, keeps the file's mode."""
    path = tmp_path / "model.safetensors"
    nn.save(nn.Linear(2, 2), path)
    os.chmod(path, mode)
    model = nn.Linear(2, 2)
    nn.save(model, path)
    assert mode_of(path) == mode
    np.testing.assert_array_equal(nn.load(path)["weight"].numpy(), model.weight.numpy())


@pytest.fixture
def permissions_apply(monkeypatch):
    """Root may write anywhere, so os.access says yes to everything it asks; as root, it answers
    here from the owner's permission bits, as it does for a user who owns the files."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return

    def as_owner(path, mode, **kwargs):
        bits = os.stat(path).st_mode
        wanted = [(os.R_OK, stat.S_IRUSR), (os.W_OK, stat.S_IWUSR), (os.X_OK, stat.S_IXUSR)]
        return all(bits & bit for flag, bit in wanted if mode & flag)
    monkeypatch.setattr(os, "access", as_owner)


@posix_only
def test_saving_over_a_read_only_checkpoint_is_refused_by_name(tmp_path, permissions_apply):
    """A checkpoint made read-only (chmod a-w, to keep a good run's weights) was replaced
    without a word, as the rename needs only the folder's permission; torch.save and
    safetensors' save_file refuse it (PermissionError naming the file)."""
    path = tmp_path / "best.safetensors"
    nn.save(nn.Linear(2, 2), path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    with pytest.raises(PermissionError, match=rf"nn\.save: {path} is read-only; make it writable .*or save "
                                              "to another path"):
        nn.save(nn.Linear(2, 2), path)
    assert path.read_bytes() == before and mode_of(path) == 0o444
    assert os.listdir(tmp_path) == ["best.safetensors"]


@posix_only
def test_saving_into_a_read_only_folder_names_the_folder_not_a_temporary_file(tmp_path, permissions_apply):
    """Now "[Errno 13] Permission denied: '.../runs/.model.safetensors.1a2b3c4d.tmp'": the name
    of our temporary file, which the user never asked for, and no fix."""
    folder = tmp_path / "runs"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError, match=rf"nn\.save: cannot write {folder / 'model.safetensors'}: "
                                                  rf"folder '{folder}' is read-only; make it writable"):
            nn.save(nn.Linear(2, 2), folder / "model.safetensors")
        assert os.listdir(folder) == []
    finally:
        os.chmod(folder, 0o755)


@posix_only
@pytest.mark.parametrize("load", [nn.load, nn.load_metadata, lambda path: nn.restore(path, nn.Linear(2, 2))],
                         ids=["load", "load_metadata", "restore"])
def test_a_checkpoint_the_user_cannot_read_is_not_reported_missing(tmp_path, permissions_apply, load):
    """safetensors reports a file it may not open as "No such file or directory" (a
    FileNotFoundError): the user then looked for a file that was there all along."""
    path = tmp_path / "model.safetensors"
    nn.save(nn.Linear(2, 2), path)
    os.chmod(path, 0o200)
    with pytest.raises(PermissionError, match=rf"{path}: cannot read the checkpoint \(permission denied\); "
                                              "make it readable"):
        load(path)


def test_a_missing_checkpoint_is_reported_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        nn.load(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("zipped", [True, False], ids=["zip (PyTorch 1.6 on)", "legacy pickle"])
def test_a_pytorch_pickle_file_is_named_as_one_with_the_conversion(torch, tmp_path, zipped):
    """A model.pt from torch.save was "not a valid safetensors checkpoint (... header too large);
    the file is corrupt or truncated": a sound file, called corrupt, and no way forward."""
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(ValueError, match=rf"{path}: a (zip archive|pickle), as torch\.save writes.*, not a "
                                         r"safetensors checkpoint.*safetensors\.torch\.save_file\(torch\.load"):
        nn.load(path)


def test_a_plain_pickle_is_named_as_one(tmp_path):
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    with pytest.raises(ValueError, match=rf"{path}: a pickle, .*not a safetensors checkpoint; topograd reads no "
                                         "pickle"):
        nn.load(path)


@pytest.mark.parametrize("name, error, message", [
    ("", FileNotFoundError, r"nn\.save: the path is empty; pass a file path, such as 'model\.safetensors'"),
    ("runs/", IsADirectoryError, r"nn\.save: 'runs/' names a folder, not a file; pass a file path inside it, "
                                 r"such as 'runs/model\.safetensors'"),
], ids=["empty", "trailing separator"])
def test_a_path_that_names_no_file_is_refused_by_name(tmp_path, monkeypatch, name, error, message):
    """"" made a temporary file in the folder above the working one, then failed to rename it
    onto "", naming the temporary file; "runs/" (no such folder yet) failed the same way, with
    NotADirectoryError."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(error, match=message):
        nn.save(nn.Linear(2, 2), name)
    assert os.listdir(tmp_path) == ["work"] and os.listdir(work) == []


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="symbolic links")
@pytest.mark.parametrize("dangling", [False, True], ids=["to a checkpoint", "dangling"])
def test_saving_through_a_symbolic_link_writes_the_file_it_points_to(tmp_path, dangling):
    """checkpoints/model.safetensors -> /big/disk/model.safetensors: the rename replaced the link
    with a regular file, so the checkpoint landed on the link's disk and the file on the big disk
    kept the old weights. torch.save and safetensors' save_file write through the link."""
    target_folder, link_folder = tmp_path / "big", tmp_path / "checkpoints"
    target_folder.mkdir()
    link_folder.mkdir()
    target, link = target_folder / "model.safetensors", link_folder / "model.safetensors"
    if not dangling:
        nn.save(nn.Linear(2, 2), target)
    os.symlink(target, link)
    model = nn.Linear(2, 2)
    nn.save(model, link)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    np.testing.assert_array_equal(nn.load(target)["weight"].numpy(), model.weight.numpy())
    assert os.listdir(target_folder) == ["model.safetensors"] and os.listdir(link_folder) == ["model.safetensors"]


def test_a_tensor_named_like_the_safetensors_header_entry_is_refused_before_writing(tmp_path):
    """A tensor named "__metadata__" (the header's own entry) was written without a word, into a
    file that no safetensors reader opens ("duplicate field `__metadata__`"), in place of the
    good checkpoint that stood there."""
    path = tmp_path / "model.safetensors"
    nn.save(nn.Linear(2, 2), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"nn\.save: state key '__metadata__' is reserved by the safetensors "
                                         r"format; rename it"):
        nn.save({"weight": ag.ones(2), "__metadata__": ag.ones(1)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.safetensors"]


@pytest.fixture
def file_size_limit():
    """Writes past ``limit`` bytes fail with EFBIG, as a full disk fails them with ENOSPC."""
    resource = pytest.importorskip("resource")
    signal = pytest.importorskip("signal")
    if not hasattr(resource, "RLIMIT_FSIZE") or not hasattr(signal, "SIGXFSZ"):
        pytest.skip("no file size limit on this platform")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails rather than the process dying

    def limit(size):
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_write_that_fails_for_want_of_space_is_an_os_error_naming_the_checkpoint(tmp_path, file_size_limit):
    """A full disk raised safetensors' own SafetensorError ("Error while serializing: I/O error:
    ..."), which `except OSError` (a training loop that carries on when a save fails) does not
    catch, naming neither the checkpoint nor what became of the one already there."""
    path = tmp_path / "model.safetensors"
    nn.save({"w": ag.zeros(10)}, path)
    before = path.read_bytes()
    file_size_limit(50_000)
    with pytest.raises(OSError, match=rf"nn\.save: cannot write {path} \(.*File too large.*\); a checkpoint already "
                                      "there is unchanged"):
        nn.save({"w": ag.zeros(100_000)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.safetensors"]

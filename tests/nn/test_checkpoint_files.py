"""nn.save / nn.load and the file system: permissions, paths, and files that are no checkpoint."""
import os
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

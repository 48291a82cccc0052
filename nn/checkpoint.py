"""Checkpoints as safetensors files: no pickle, loadable by PyTorch, written atomically.

    nn.save(model.state_dict(), "ckpt.safetensors", optimizer=opt, metadata={"epoch": "3"}, scheduler=sched)
    model.load_state_dict(nn.load("ckpt.safetensors"))
    opt.load_state_dict(nn.load_optimizer_state("ckpt.safetensors"))
    sched.load_state_dict(nn.load_scheduler_state("ckpt.safetensors"))
    nn.restore("ckpt.safetensors", model, opt, scheduler=sched)  # all, or nothing; errors name the file
    nn.load_metadata("ckpt.safetensors")  # {"epoch": "3"}

The model's tensors are stored under their state_dict names, so
``safetensors.torch.load_file`` gives PyTorch a state dict it can load, and a file
that PyTorch saved loads here. An optimizer's tensors go under ``optimizer.``
keys (``optimizer.state.0.exp_avg``); the rest of its state dict (hyperparameters,
step counts) is JSON in the file's metadata, with a CRC-32 of every tensor, and one
of the metadata itself, so that damaged data is caught on load rather than trained on.
An LR scheduler's state dict is stored the same way, under ``scheduler`` (its Tensor
rates as ``scheduler.`` tensors), with the types JSON lacks kept: integer dict keys
(MultiStepLR's milestones), tuples, and the nested states of SequentialLR and
ChainedScheduler. (Saving ``scheduler.state_dict()`` through ``json.dumps`` yourself
turns integer keys into strings.) A module's extra state (``get_extra_state``, under
``..._extra_state`` keys) is stored the same way, under ``extra_state``, and ``load``
gives it back among the model's entries.
"""
import copy
import json
import os
import reprlib
import secrets
import stat
import zlib
from collections import OrderedDict

import backends
from autograd import Tensor, tensor

from .module import Module, is_extra_state_key
from .parameter import is_lazy

TOPOGRAD_KEY = "topograd"  # metadata entry with our JSON (key order, checksums, optimizer and scheduler state)
METADATA_CRC_KEY = "topograd_crc32"  # CRC-32 of our JSON and the user's entries (format 2 on)
# The scheduler and extra_state entries needed no new version: each is one more optional entry,
# which readers of version 2 that predate it pass over, and older files, which lack it, are read as before.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1 files have no METADATA_CRC_KEY
SAVED_STATES = {"optimizer": "an optimizer", "scheduler": "an LR scheduler"}  # entries of our JSON, also
# the prefixes of their tensors' names: optimizer.state.<index>.<name>, scheduler.base_lrs.<index>
RESERVED_METADATA = (TOPOGRAD_KEY, METADATA_CRC_KEY, "format")
HEADER_METADATA_KEY = "__metadata__"  # the safetensors header's entry for the metadata, beside the tensors
LOADABLE_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8", "I16": "int16", "I32": "int32",
                   "I64": "int64", "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool"}
INFO_FIELD_TYPES = (  # (entry of our JSON, what it must be, test); JSON object keys are always str
    ("model_keys", "a list of names", lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v)),
    ("crc32", "a dict of name -> int",
     lambda v: isinstance(v, dict) and all(isinstance(c, int) and not isinstance(c, bool) for c in v.values())),
    ("optimizer", "a dict", lambda v: isinstance(v, dict)),
    ("scheduler", "a dict", lambda v: isinstance(v, dict)),
    ("extra_state", "a dict", lambda v: isinstance(v, dict)),
)


def save(state, path, optimizer=None, metadata=None, *, scheduler=None):
    """Write ``state`` (a state_dict of name -> Tensor, or a Module) to ``path``.

    ``optimizer``: an optimizer (or its ``state_dict()``) to store alongside.
    ``metadata``: extra ``str -> str`` entries, returned by ``load_metadata``.
    ``scheduler``: an LR scheduler (or its ``state_dict()``) to store alongside.
    The file is written to a temporary name in the same folder, flushed to disk,
    then renamed over ``path``, so ``path`` always holds a complete checkpoint.
    """
    safetensors_numpy = _import_safetensors()
    path = os.fspath(path)
    if isinstance(state, Module):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"nn.save: state must be a dict of name -> Tensor or a Module, not {type(state).__name__}")
    arrays, extra_state = OrderedDict(), OrderedDict()
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(f"nn.save: state keys must be strings, got {name!r}")
        if name == HEADER_METADATA_KEY:  # safetensors writes it, then no reader opens the file
            raise ValueError(f"nn.save: state key {name!r} is reserved by the safetensors format; rename it")
        if not isinstance(value, Tensor) and is_extra_state_key(name):
            extra_state[name] = value  # a module's get_extra_state(): encoded as the other states below
            continue
        if not isinstance(value, Tensor):
            kind = f"{type(value).__module__}.{type(value).__qualname__}"
            fix = "ag.tensor(value.detach().cpu().numpy())" if kind.startswith("torch.") else "ag.tensor(value)"
            raise TypeError(f"nn.save: state[{name!r}] is a {kind}, not a topograd Tensor; convert it with {fix}")
        arrays[name] = _host_array(value)
    info = {"version": FORMAT_VERSION, "model_keys": list(arrays)}
    if extra_state:
        _store_state(info, arrays, "extra_state", extra_state)
    for entry, owner in zip(SAVED_STATES, (optimizer, scheduler)):
        if owner is None:
            continue
        saved = owner.state_dict() if hasattr(owner, "state_dict") else owner
        if not isinstance(saved, dict):
            raise TypeError(f"nn.save: {entry} must be {SAVED_STATES[entry]} or its state_dict(), "
                            f"not {type(saved).__name__}")
        _store_state(info, arrays, entry, saved)
    info["crc32"] = {name: _tensor_crc(a, FORMAT_VERSION) for name, a in arrays.items()}
    entries = _user_metadata(metadata)
    entries[TOPOGRAD_KEY] = json.dumps(info, separators=(",", ":"))
    entries[METADATA_CRC_KEY] = str(_metadata_crc(entries))
    entries["format"] = "pt"  # the marker Hugging Face loaders check; names and layouts follow PyTorch
    from safetensors import SafetensorError

    def write(tmp):
        try:
            safetensors_numpy.save_file(arrays, tmp, metadata=entries)
        except SafetensorError as exc:  # a full disk, a quota: an OSError, as open() and write() raise them
            raise OSError(f"nn.save: cannot write {path} ({exc}); a checkpoint already there is unchanged") from exc
    _write_atomically(path, write)


def _store_state(info, arrays, entry, saved):
    """Put the state dict ``saved`` in our JSON under ``entry``, and its tensors in ``arrays``."""
    tensors = {}
    info[entry] = _encode(saved, entry, tensors)
    clashes = sorted(set(tensors) & set(arrays))
    if clashes:
        raise ValueError(f"nn.save: model keys {clashes} collide with the {entry}'s; rename them")
    arrays.update((name, _host_array(t)) for name, t in tensors.items())


def load(path, device=None):
    """The model tensors in the checkpoint, as an OrderedDict of name -> Tensor on
    ``device`` (default: the default device), in the order they were saved, then the
    modules' extra states. Optimizer and scheduler entries are left out; read them with
    ``load_optimizer_state`` and ``load_scheduler_state``."""
    with _Checkpoint(path) as checkpoint:
        return _model_state(checkpoint, device)


def load_optimizer_state(path, device=None):
    """The optimizer ``state_dict`` saved with ``nn.save(..., optimizer=opt)``, ready
    for ``opt.load_state_dict``; its tensors are placed on ``device``."""
    with _Checkpoint(path) as checkpoint:
        return _saved_state(checkpoint, "optimizer", device)


def load_scheduler_state(path, device=None):
    """The LR scheduler ``state_dict`` saved with ``nn.save(..., scheduler=scheduler)``, ready
    for ``scheduler.load_state_dict``; its tensors (a Tensor rate's) are placed on ``device``."""
    with _Checkpoint(path) as checkpoint:
        return _saved_state(checkpoint, "scheduler", device)


def _model_state(checkpoint, device):
    names = checkpoint.info.get("model_keys", None)
    if names is None:  # written elsewhere (e.g. safetensors.torch.save_file): every tensor is the model's
        names = checkpoint.keys
    state = checkpoint.read(names, device)
    if "extra_state" in checkpoint.info:
        state.update(_saved_state(checkpoint, "extra_state", device))
    return state


def _saved_state(checkpoint, entry, device):
    """The state dict saved under ``entry`` ("optimizer", "scheduler" or "extra_state"), its tensors on ``device``."""
    if entry not in checkpoint.info:
        raise KeyError(f"{checkpoint.path}: the checkpoint holds no {entry} state; save it with "
                       f"nn.save(state, path, {entry}={entry})")
    skeleton = checkpoint.info[entry]
    try:
        names = _tensor_names(skeleton)
    except (TypeError, ValueError) as exc:
        raise _malformed_state(checkpoint, entry, exc) from exc
    tensors = checkpoint.read(names, device)
    try:
        return _decode(skeleton, tensors)
    except (TypeError, ValueError, KeyError, RecursionError) as exc:  # (a skeleton nested deeper than _encode's)
        raise _malformed_state(checkpoint, entry, exc) from exc


def _malformed_state(checkpoint, entry, exc):
    """The error for a skeleton that is valid JSON but not one _encode writes."""
    return ValueError(f"{checkpoint.path}: the checkpoint's {entry} state is malformed ({type(exc).__name__}: "
                      f"{exc}); the file is corrupt")


def restore(path, model, optimizer=None, strict=True, *, scheduler=None):
    """Load the checkpoint at ``path`` into ``model`` (and ``optimizer``, and the LR ``scheduler``),
    all or nothing: every check (file, keys, shapes, optimizer groups, the scheduler's kind)
    passes before anything stays changed, and errors name the file. Returns load_state_dict's
    missing/unexpected keys. (A Lazy module that the checkpoint gave its sizes keeps them, and
    the checkpoint's values, if the optimizer or scheduler then refuses: a placeholder cannot be
    given back.)"""
    path = os.fspath(path)
    with _Checkpoint(path) as checkpoint:  # all from one file, should a save replace it meanwhile
        state = _model_state(checkpoint, device="cpu")  # load_state_dict copies onto each parameter's own device
        saved = {entry: _saved_state(checkpoint, entry, device="cpu")
                 for entry, owner in zip(SAVED_STATES, (optimizer, scheduler)) if owner is not None}
    undo = []  # what puts back each part loaded so far, should a later one refuse
    if saved:  # host copies (state_dict shares memory); a Lazy module's placeholders have no values to keep
        before = {name: tensor(t, dtype=t.dtype, device="cpu") if isinstance(t, Tensor) else copy.deepcopy(t)
                  for name, t in model.state_dict().items() if not is_lazy(t)}  # (extra states are no Tensors)
        undo.append(lambda: model.load_state_dict(before, strict=False))  # (before lacks only Lazy placeholders)
    if optimizer is not None:
        # Its own groups and state, put back as they are: load_state_dict makes new ones (copies
        # of the tensors, never written into these). Loading its state_dict() again would not do:
        # that merges into the groups the keys the refused checkpoint brought (an SGD's momentum
        # in an Adam's groups), and runs the optimizer's state-dict hooks again.
        optimizer_before = optimizer.param_groups, optimizer.state
    try:
        result = model.load_state_dict(state, strict=strict)
    except ValueError as exc:
        raise ValueError(f"{path}: the checkpoint does not fit this model: {exc}") from exc
    if optimizer is not None:
        # On the list before loading: a load_state_dict post-hook that raises does so after
        # the optimizer has taken the checkpoint's groups and state, which must go back too.
        undo.append(lambda: _put_back_optimizer(optimizer, *optimizer_before))
        _load_or_undo(path, "optimizer", optimizer, saved["optimizer"], undo)
    if scheduler is not None:
        _load_or_undo(path, "scheduler", scheduler, saved["scheduler"], undo)
    return result


def _put_back_optimizer(optimizer, param_groups, state):
    optimizer.param_groups, optimizer.state = param_groups, state


def _load_or_undo(path, entry, owner, state_dict, undo):
    """``owner.load_state_dict(state_dict)``; whatever it refuses (a hook's error too), the
    parts loaded before it are put back, by ``undo``, before the error is raised."""
    try:
        owner.load_state_dict(state_dict)
    except Exception as exc:
        for put_back in reversed(undo):
            put_back()
        if not isinstance(exc, (ValueError, KeyError, TypeError)):
            raise
        raise ValueError(f"{path}: the checkpoint's {entry} state does not fit this {entry}: {exc}") from exc


def load_metadata(path):
    """The ``metadata`` entries given to ``nn.save`` (a dict of str -> str)."""
    with _Checkpoint(path) as checkpoint:
        return {k: v for k, v in checkpoint.metadata.items() if k not in RESERVED_METADATA}


# --- writing -------------------------------------------------------------------------------

def _host_array(t):
    """The tensor's values as a host array, C-contiguous as safetensors needs (given
    a strided array it writes the memory in storage order, scrambling the values)."""
    return _contiguous(t.numpy())


def _user_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"nn.save: metadata must be a dict of str -> str, not {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"nn.save: metadata entries must be str -> str, got {key!r}: {value!r} "
                            "(convert numbers with str(), or json.dumps structures)")
        if key in RESERVED_METADATA:
            raise ValueError(f"nn.save: metadata key {key!r} is reserved; use another name")
    return dict(metadata)


def _tensor_crc(array, version):
    """CRC-32 of a tensor's bytes and (from format 2) its dtype and shape, which the
    safetensors header holds apart from the bytes: a flipped "F32" -> "I32" keeps them."""
    start = zlib.crc32(f"{array.dtype.str}{array.shape}".encode()) if version >= 2 else 0
    return zlib.crc32(memoryview(array), start)


def _metadata_crc(entries):
    """CRC-32 of our JSON and the user's entries: a damaged hyperparameter or checksum
    table is valid JSON as often as not, and would otherwise load without a word."""
    covered = sorted((k, v) for k, v in entries.items() if k not in (METADATA_CRC_KEY, "format"))
    return zlib.crc32(json.dumps(covered, separators=(",", ":")).encode())


def _encode(value, name, tensors):
    """JSON-able skeleton of ``value``; each Tensor is stored in ``tensors`` under its
    dotted path and replaced by ``{"__tensor__": path}``. Non-string dict keys (the
    parameter indices of an optimizer's state) and tuples are tagged so that decoding
    gives back the same types."""
    if isinstance(value, Tensor):
        name = _unused_name(name, tensors)
        tensors[name] = value
        return {"__tensor__": name}
    if isinstance(value, dict):
        plain = all(isinstance(k, str) for k in value) and not {"__tensor__", "__items__", "__tuple__"} & set(value)
        if plain:
            return {k: _encode(v, f"{name}.{k}", tensors) for k, v in value.items()}
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                if not hasattr(k, "__index__"):
                    raise TypeError(f"nn.save: state key {k!r} at {name} is not a str or number")
                k = int(k)  # an array library's integer: MultiStepLR's milestones from np.arange
            items.append([k, _encode(v, f"{name}.{k}", tensors)])
        return {"__items__": items}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        # An array library's scalar or 0-d array (a callable LambdaLR object's np.array(0.9)) as
        # the Python number of its kind: a 0-d float array has __index__ too, and int() made 0.9 a 0.
        return _encode(value.item(), name, tensors)
    if getattr(value, "ndim", 0):
        raise TypeError(f"nn.save: the state at {name} is a {type(value).__name__} of shape "
                        f"{tuple(value.shape)}, which a checkpoint cannot hold; make it a Tensor "
                        "(ag.tensor(value)) or a list")
    if hasattr(value, "__index__"):  # integer scalars of array libraries
        return int(value)
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"nn.save: the state at {name} is a {type(value).__name__}, which a checkpoint "
                    "cannot hold; use Tensors, numbers, strings, lists and dicts")


def _unused_name(name, tensors):
    """``name``, or ``name#1``, ``name#2``... where a tensor holds it already: dotted paths can
    coincide ({"a.b": x, "a": {"b": y}}, or {1: x, "1": y}), and the skeleton names each tensor."""
    unique, count = name, 0
    while unique in tensors:
        count += 1
        unique = f"{name}#{count}"
    return unique


def _write_atomically(path, write):
    # Each of these would otherwise fail the rename, with an error that names our temporary file.
    if not path:
        raise FileNotFoundError("nn.save: the path is empty; pass a file path, such as 'model.safetensors'")
    if os.path.isdir(path):
        raise IsADirectoryError(f"nn.save: {path} is a directory; pass a file path inside it, such as "
                                f"{os.path.join(path, 'model.safetensors')!r}")
    if not os.path.basename(path):  # "runs/", a folder not made yet
        raise IsADirectoryError(f"nn.save: {path!r} names a folder, not a file; pass a file path inside it, "
                                f"such as {os.path.join(path, 'model.safetensors')!r}")
    if os.path.exists(path) and not os.access(path, os.W_OK):  # else the rename replaced it regardless
        raise PermissionError(f"nn.save: {path} is read-only; make it writable (chmod u+w) to replace it, "
                              "or save to another path")
    # Through a symbolic link to the file it names, as open(path, "wb") writes (torch.save, safetensors'
    # save_file): the rename would put a regular file in place of the link, on the link's disk.
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"nn.save: folder {directory!r} does not exist; create it first")
    unwritable = PermissionError(f"nn.save: cannot write {path}: folder {directory!r} is read-only; make it "
                                 "writable, or save to another folder")  # (not the name of our temporary file)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise unwritable
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(4)}.tmp")
    # Created here to learn the usual permissions (0666 less the umask): the
    # safetensors writer leaves its files 0600, which we undo before the rename.
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except PermissionError as exc:  # where os.access cannot tell (an ACL, a network file system)
        raise unwritable from exc
    try:
        mode = _existing_mode(path)
        if mode is None:
            mode = os.stat(tmp).st_mode & 0o777
        write(tmp)
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _existing_mode(path):
    """The permission bits of the file that ``path`` names, if any: a save replaces the
    file but keeps its mode, as open(path, "wb") does (a private 0600 checkpoint stays private)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(status.st_mode) if stat.S_ISREG(status.st_mode) else None


def _fsync_directory(directory):
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- reading -------------------------------------------------------------------------------

class _Checkpoint:
    """An opened, validated checkpoint: its keys, metadata and our JSON entry; a context
    manager that closes the file. Every tensor is read through the handle that read the
    header: reopening the path could read another checkpoint that a save (an atomic
    rename) put there meanwhile, which failed its checksums as corrupt, or gave restore
    one file's model with another's optimizer state."""

    def __init__(self, path):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):  # safetensors would say only "No such device"
            raise IsADirectoryError(f"{self.path} is a directory; pass the checkpoint file inside it")
        if os.path.exists(self.path) and not os.access(self.path, os.R_OK):  # safetensors: "No such file"
            raise PermissionError(f"{self.path}: cannot read the checkpoint (permission denied); make it readable "
                                  "(chmod u+r)")
        _import_safetensors()  # for its clear error when the package is missing
        from safetensors import SafetensorError, safe_open
        self._error = SafetensorError
        try:
            self._file = safe_open(self.path, framework="np")
            self.keys = list(self._file.keys())
            self.metadata = dict(self._file.metadata() or {})
            self.dtypes = {k: self._file.get_slice(k).get_dtype() for k in self.keys}
        except SafetensorError as exc:
            self.close()
            pickled = _pickle_kind(self.path)
            if pickled:  # a sound file, not a corrupt one: say what it is, and how to convert it
                raise ValueError(f"{self.path}: {pickled}, not a safetensors checkpoint; topograd reads no pickle "
                                 "(loading one can run any code). Convert it where it was made, in PyTorch: "
                                 "safetensors.torch.save_file(torch.load(path), 'model.safetensors')") from exc
            raise ValueError(f"{self.path}: not a valid safetensors checkpoint ({exc}); the file is corrupt or "
                             "truncated, or not a checkpoint") from exc
        try:
            self.info = self._parse_info()
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        file = self.__dict__.pop("_file", None)
        if file is not None:
            file.__exit__(None, None, None)

    def _parse_info(self):
        raw = self.metadata.get(TOPOGRAD_KEY)
        if raw is None:
            if METADATA_CRC_KEY in self.metadata:  # ours, with our JSON's key damaged
                raise ValueError(f"{self.path}: the checkpoint's '{TOPOGRAD_KEY}' metadata is missing; "
                                 "the file is corrupt")
            return {}
        try:
            info = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:  # (nested past Python's recursion limit)
            raise ValueError(f"{self.path}: the checkpoint's '{TOPOGRAD_KEY}' metadata is not valid JSON "
                             f"({exc}); the file is corrupt") from exc
        version = info.get("version") if isinstance(info, dict) else None
        if version not in READABLE_VERSIONS:
            raise ValueError(f"{self.path}: checkpoint format version {version!r} is not one this topograd "
                             f"reads (versions {', '.join(map(str, READABLE_VERSIONS))}); it was written by "
                             "another version, or is corrupt")
        crc = self.metadata.get(METADATA_CRC_KEY)  # checked wherever present: a damaged version cannot skip it
        if (version >= 2 or crc is not None) and crc != str(_metadata_crc(self.metadata)):
            raise ValueError(f"{self.path}: the checkpoint's metadata fails its checksum; the file is corrupt")
        # Valid JSON can still hold the wrong types; caught here, they cannot surface later as
        # an AttributeError or TypeError from deep inside the reader.
        for field, expected, fits in INFO_FIELD_TYPES:
            if field in info and not fits(info[field]):
                raise ValueError(f"{self.path}: entry {field!r} of the checkpoint's '{TOPOGRAD_KEY}' metadata is "
                                 f"not {expected} (got {reprlib.repr(info[field])}); the file is corrupt")
        missing = sorted(set(info.get("model_keys", ())) - set(self.keys))
        if missing:
            raise ValueError(f"{self.path}: the checkpoint lists tensors {missing} that it does not contain; "
                             "the file is corrupt")
        return info

    def read(self, names, device):
        """The named tensors, checked against their dtypes and checksums, on ``device``."""
        absent = [name for name in names if name not in self.dtypes]
        if absent:
            raise ValueError(f"{self.path}: the checkpoint has no tensors {absent}; the file is corrupt")
        for name in names:
            if self.dtypes[name] not in LOADABLE_DTYPES:
                raise ValueError(f"{self.path}: tensor {name!r} has dtype {self.dtypes[name]}, which topograd "
                                 "cannot hold; convert it before saving (in PyTorch: .float())")
        backend = backends.get(device)
        for name in names:  # every one before reading any: device 'strict' has no float16
            dtype = LOADABLE_DTYPES[self.dtypes[name]]
            try:
                backend.native_dtype(backends.dtypes.canonical(dtype))
            except TypeError as exc:
                raise TypeError(f"{self.path}: tensor {name!r} is {dtype}, which device {backend.device!r} cannot "
                                f"hold ({exc}); load the checkpoint with device='cpu'") from exc
        checksums = self.info.get("crc32", {})
        unchecked = [name for name in names if self.info and name not in checksums]
        if unchecked:  # every tensor we write has one: a name that lost it was damaged
            raise ValueError(f"{self.path}: the checkpoint has no checksums for tensors {unchecked}; "
                             "the file is corrupt")
        out = OrderedDict()
        try:
            for name in names:
                array = self._file.get_tensor(name)
                expected = checksums.get(name)
                if self.info and _tensor_crc(_contiguous(array), self.info["version"]) != expected:
                    raise ValueError(f"{self.path}: tensor {name!r} fails its checksum; the file is corrupt")
                out[name] = Tensor(array, device=backend)
        except self._error as exc:
            raise ValueError(f"{self.path}: cannot read the checkpoint's tensors ({exc}); the file is "
                             "corrupt") from exc
        return out


def _pickle_kind(path):
    """What the file at ``path`` is, when its first bytes are a zip archive's (torch.save's
    format since PyTorch 1.6, numpy.savez's too) or a pickle's (protocol 2 on); else None."""
    try:
        with open(path, "rb") as f:
            start = f.read(4)
    except OSError:
        return None
    if start == b"PK\x03\x04":
        return "a zip archive, as torch.save writes (or numpy.savez)"
    if len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5:  # PROTO opcode, then its version
        return "a pickle, as torch.save writes (before PyTorch 1.6) or pickle.dump"
    return None


def _contiguous(array):
    if memoryview(array).c_contiguous:
        return array
    xp = backends.get("cpu").xp
    return xp.reshape(xp.reshape(array, (-1,), copy=True), array.shape)  # a copy in C order


def _tensor_names(skeleton):
    """Every tensor key an encoded skeleton refers to, walking it without recursion."""
    names, stack = [], [skeleton]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if "__tensor__" in value:
                if not isinstance(value["__tensor__"], str):
                    raise TypeError(f"a tensor reference is {value['__tensor__']!r}, not a name")
                names.append(value["__tensor__"])
            elif "__items__" in value:
                stack.extend(v for _, v in value["__items__"])
            elif "__tuple__" in value:
                stack.extend(value["__tuple__"])
            else:
                stack.extend(value.values())
    return names


def _decode(value, tensors):
    """Undo ``_encode``, taking each tensor from ``tensors`` by name."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__items__" in value:
        return {k: _decode(v, tensors) for k, v in value["__items__"]}
    return {k: _decode(v, tensors) for k, v in value.items()}


def _import_safetensors():
    try:
        import safetensors.numpy
    except ImportError as exc:
        raise ImportError("checkpoints need the safetensors package: pip install safetensors "
                          "(or pip install 'topograd[nn]')") from exc
    return safetensors.numpy

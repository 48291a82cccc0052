"""The suite's targets, each reported as met, short, or n/a with the reason.

A ratio is topograd's median over the reference's median on the same device
(time, or bytes for memory), so a target ``limit`` of 1.10 means "at most 10%
slower than the reference".
"""
import dataclasses

from . import devices
from .cases.overhead import DEEP_CYCLES, ops_in
from .cases.training import GEMM_BOUND
from .contender import FLOOR, TORCH
from .results import RAN

MET, SHORT, NA = "met", "short", "n/a"


@dataclasses.dataclass(frozen=True)
class Target:
    key: str
    description: str
    benchmark: str
    reference: str              # FLOOR or TORCH
    limit: float
    device: str = None          # only meaningful on this device (None: the run's device)
    params: dict = dataclasses.field(default_factory=dict)  # sizes the target is defined at


@dataclasses.dataclass
class TargetResult:
    target: Target
    status: str
    ratio: float = None
    detail: str = ""


_gemm_sizes, _gemm_batch = GEMM_BOUND["cuda"]

TARGETS = (
    Target("per-op-overhead", "per-op overhead (1,000-op chain, forward + backward) at most 0.75x PyTorch's",
           "overhead/chain-forward-backward", TORCH, 0.75),
    Target("deep-chain", f"build + backward of a {ops_in(DEEP_CYCLES):,}-op chain no slower than PyTorch",
           "overhead/deep-chain", TORCH, 1.0, params={"ops": ops_in(DEEP_CYCLES)}),
    Target("mlp-b64", "MLP 784-512-256-10 SGD step at batch 64 at most 1.10x the floor",
           "training/mlp-b64", FLOOR, 1.10),
    Target("mlp-b512", "MLP 784-512-256-10 SGD step at batch 512 at most 1.05x the floor",
           "training/mlp-b512", FLOOR, 1.05),
    Target("cnn-b64", "LeNet-style CNN SGD step at batch 64 at most 1.10x the floor",
           "training/cnn-b64", FLOOR, 1.10),
    Target("memory-mlp-b512", "peak memory of the MLP step at batch 512 at most 1.2x the floor's",
           "memory/mlp-b512", FLOOR, 1.2),
    Target("memory-cnn-b64", "peak memory of the CNN step at batch 64 at most 1.2x the floor's",
           "memory/cnn-b64", FLOOR, 1.2),
    Target("gpu-mlp-b512", "GPU: MLP SGD step at batch 512 at most 1.3x PyTorch CUDA",
           "training/mlp-b512", TORCH, 1.3, device="cuda"),
    Target("gpu-cnn-b256", "GPU: CNN SGD step at batch 256 at most 1.3x PyTorch CUDA",
           "training/cnn-b256", TORCH, 1.3, device="cuda"),
    Target("gpu-gemm-bound", f"GPU: GEMM-bound MLP step ({'-'.join(map(str, _gemm_sizes))}, batch {_gemm_batch}) "
           "within 1.1x raw CuPy", "training/gemm-bound-mlp", FLOOR, 1.1, device="cuda",
           params={"batch": _gemm_batch, "sizes": list(_gemm_sizes)}),
)


def evaluate(suite):
    return [_evaluate(target, suite) for target in TARGETS]


def _evaluate(target, suite):
    device = suite.settings.device
    if target.device is not None and target.device != device:
        return TargetResult(target, NA, detail=f"a {target.device} target: run with --device {target.device}")
    result = suite.get(target.benchmark)
    if result is None:
        return TargetResult(target, NA, detail=f"{target.benchmark} was not run (--only)")
    params = result.benchmark.params
    differing = {k: params.get(k) for k, v in target.params.items() if params.get(k) != v}
    if differing:
        return TargetResult(target, NA, detail=f"measured at {differing} (--quick sizes); the target is for "
                                               f"{ {k: target.params[k] for k in differing} }")
    subject = next((r for r in result.contenders if r.contender.label == devices.topograd_label(device)), None)
    if subject is None or subject.status != RAN:
        reason = subject.reason if subject is not None else "no topograd contender"
        return TargetResult(target, NA, detail=f"topograd did not run: {reason}")
    reference = next((r for r in result.contenders if r.contender.kind == target.reference
                      and r.contender.device == device), None)
    if reference is None or reference.status != RAN:
        reason = reference.reason if reference is not None else "no such contender"
        return TargetResult(target, NA, detail=f"the {target.reference} did not run: {reason}")
    ratio = result.ratio(subject, target.reference)
    status = MET if ratio <= target.limit else SHORT
    detail = f"{subject.contender.label} / {reference.contender.label} = {ratio:.2f} (limit {target.limit:.2f})"
    if suite.settings.quick:
        detail += "; --quick run: a smoke test, not a measurement"
    return TargetResult(target, status, ratio, detail)

"""The triangular solves in the backward passes of cholesky, qr and lu, by solve_triangular
(what they use) against the general solve and inv (what they used), interleaved, on one
thread, best of 5 rounds, on a batch of small matrices and one large one in float64 and
float32: ``OMP_NUM_THREADS=1 python -m benchmarks.factorization_backward``. Then forward
plus backward of each factorization as it stands."""
import numpy as np

import autograd as ag
from autograd.ops.linalg import matmul
from autograd.ops.matrices import eye, mT
from autograd.ops.solve import inv, solve
from autograd.ops.triangular import solve_triangular

from .best_of_rounds import best_ms

SHAPES = [(256, 4, 4), (512, 512)]


def routes(lower, upper, unit_lower, g):
    """(name, by solve_triangular, by solve or inv) for each backward's solves."""
    return [
        ("cholesky: L^-T phi L^-1",
         lambda: (lambda i: matmul(mT(i), matmul(g, i)))(solve_triangular(lower, eye(lower, lower.shape[-1]),
                                                                          upper=False)),
         lambda: (lambda i: matmul(mT(i), matmul(g, i)))(inv(lower))),
        ("qr: b R^-T", lambda: mT(solve_triangular(upper, mT(g), upper=True)), lambda: mT(solve(upper, mT(g)))),
        ("lu: L^-T g U^-T",
         lambda: solve_triangular(mT(unit_lower), solve_triangular(mT(upper), g, upper=False, left=False),
                                  upper=True, unitriangular=True),
         lambda: solve(mT(unit_lower), solve(mT(upper), g, left=False)))]


def main():
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        for dtype in ("float64", "float32"):
            n = shape[-1]
            a = rng.standard_normal(shape) + np.sqrt(n) * np.eye(n)
            spd = a @ np.swapaxes(a, -1, -2) / n + np.eye(n)
            lower = ag.tensor(np.linalg.cholesky(spd).astype(dtype))
            upper = ag.tensor(np.linalg.qr(a)[1].astype(dtype))
            unit_lower = ag.tensor((np.tril(a, -1) / np.abs(a).max() + np.eye(n)).astype(dtype))
            g = ag.tensor(rng.standard_normal(shape).astype(dtype))
            row = []
            with ag.no_grad():
                for name, triangular, general in routes(lower, upper, unit_lower, g):
                    times = {"triangular": [], "general": []}
                    for _ in range(3):  # (interleaved: the machine's load moves both alike)
                        times["triangular"].append(best_ms(triangular))
                        times["general"].append(best_ms(general))
                    row.append(f"{name} {min(times['triangular']):.3f} ms (general {min(times['general']):.3f})")
            print(f"{shape} {dtype}: " + "; ".join(row), flush=True)
            totals = []
            for name, data, fn in [("cholesky", spd, ag.linalg.cholesky), ("qr", a, lambda x: sum(ag.linalg.qr(x))),
                                   ("lu", a, lambda x: sum(ag.linalg.lu(x)[1:]))]:
                x = ag.tensor(data.astype(dtype), requires_grad=True)
                totals.append(f"{name} {best_ms(lambda: fn(x).sum().backward()):.3f} ms")
            print("    forward + backward: " + ", ".join(totals), flush=True)


if __name__ == "__main__":
    main()

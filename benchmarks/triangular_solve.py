"""ag.linalg.solve_triangular against torch.linalg.solve_triangular and both general solves,
float64 on one thread, best of 5 rounds, with the residual max|A X - B| / max(|A| |X|):
``python -m benchmarks.triangular_solve`` (PyTorch needed)."""
import numpy as np
import torch

import autograd as ag

from .best_of_rounds import best_ms

CASES = [((), 64, 1), ((), 64, 64), ((), 256, 1), ((), 256, 64), ((), 1024, 1), ((), 1024, 64), ((64,), 32, 1),
         ((64,), 32, 32)]


def residual(a, x, b):
    return np.abs(a @ x - b).max() / (np.abs(a) @ np.abs(x)).max()


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    for batch, n, k in CASES:
        for upper in (False, True):
            lu = torch.linalg.lu(torch.tensor(rng.standard_normal(batch + (n, n))))  # well-conditioned triangles
            a = np.ascontiguousarray((lu.U if upper else lu.L + lu.U.mT).numpy())
            b = rng.standard_normal(batch + (n, k))
            ta, tb, A, B = torch.tensor(a), torch.tensor(b), ag.tensor(a), ag.tensor(b)
            triangle = np.triu(a) if upper else np.tril(a)
            row = []
            for name, fn, solves_the_triangle in [
                    ("topograd", lambda: ag.linalg.solve_triangular(A, B, upper=upper).numpy(), True),
                    ("torch", lambda: torch.linalg.solve_triangular(ta, tb, upper=upper).numpy(), True),
                    ("topograd solve", lambda: ag.linalg.solve(A, B).numpy(), False),
                    ("torch solve", lambda: torch.linalg.solve(ta, tb).numpy(), False)]:
                entry = f"{name} {best_ms(fn):.3f} ms"
                if solves_the_triangle:
                    entry += f" (residual {residual(triangle, fn(), b):.0e})"
                row.append(entry)
            print(f"{batch + (n, n)} k={k} {'upper' if upper else 'lower'}: " + ", ".join(row), flush=True)


if __name__ == "__main__":
    main()

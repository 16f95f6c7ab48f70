"""The fixed-point solver an implicit stage of model.py calls: the loop optnas's skeleton runs, as code.

``fixed_point(T, u, c)`` solves x = u + c·T(x) with the same iteration, stopping rule and implicit
gradient as ``optnas.nn.unrolled.Unrolled._solve`` (so the exported outputs are the original's bit for
bit); ``_statistics_kept`` comes with it, copied from optnas/nn, so training the export moves batch-norm
statistics once per solve, as optnas does.
"""

from __future__ import annotations

# Names of optnas/nn definitions the solver's text uses (copied into model.py beside it).
NEEDS = frozenset({"_statistics_kept"})

SOURCE = '''
def fixed_point(T: nn.Module, u: torch.Tensor, c: float | torch.Tensor) -> torch.Tensor:
    """x = u + c·T(x) by fixed-point iteration (at most MAX_ITER, relative tolerance TOL); implicit gradient."""
    with torch.no_grad(), _statistics_kept(T, T.training):
        z = u
        for _ in range(MAX_ITER):
            z_next = u + c * T(z)
            residual = float((z_next - z).norm() / (z_next.norm() + 1e-12))
            z = z_next
            if residual <= TOL:
                break
    if not torch.is_grad_enabled():
        return z
    out = u + c * T(z)  # one step attaches u, c and T's parameters to the graph
    if out.requires_grad:
        z0 = z.detach().requires_grad_()
        with _statistics_kept(T, T.training):
            g0 = c * T(z0)

        def adjoint(grad: torch.Tensor) -> torch.Tensor:
            # solve g = grad + (c·∂T/∂z)ᵀ g: the vector-Jacobian product of (I − c·∂T/∂z)^{-1}
            g = grad
            for _ in range(MAX_ITER):
                g_next = torch.autograd.grad(g0, z0, g, retain_graph=True)[0] + grad
                done = float((g_next - g).norm()) <= TOL * (float(g_next.norm()) + 1e-12)
                g = g_next
                if done:
                    break
            return g

        out.register_hook(adjoint)
    return out
'''.strip("\n")

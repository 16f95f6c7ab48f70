"""A fingerprint of this machine's float32 arithmetic: the bits its kernels give on a fixed probe.

A benchmark row reproduces bit for bit only where both the code (`fingerprint`) and the arithmetic that ran
it are the build's. The arithmetic is not torch's version alone: torch's CPU wheel carries oneMKL, which
picks its matrix-product kernels by the CPU it finds, and it runs other kernels on an AMD CPU than on an Intel
one of the same instruction set; ATen picks its vectorised kernels (sums, softmax) by the instruction set.
Rounding differences of one unit in the last place then grow over a training run: a shipped MNIST-1D row
trained on the build's Intel Xeon gives 0.545, and 0.5375 on an AMD EPYC (same data, weights and options;
the same code on both). `arithmetic` hashes float32 results of the products, reductions and losses a table's
training runs (one thread, the build's), at the tables' shapes, so two machines with the same hash train the
same rows to the same bits; `SHIPPED` holds, for each shipped table, the hash of the machine that built
it.

Example:
    >>> len(arithmetic()) == 16 and arithmetic() == arithmetic()
    True
"""

from __future__ import annotations

import functools
import hashlib

import torch

__all__ = ["SHIPPED", "arithmetic"]

# The arithmetic each shipped table was built with. MNIST-1D and digits: 2026-12-01 on a 2-core Intel Xeon
# (torch 2.13.0+cpu, oneMKL 2024.2 running its Intel AVX-512 kernels), measured on an AMD EPYC (Zen 4) with
# oneMKL made to take its Intel code path, where 16 sampled rows of the two tables retrain to every stored
# number (8 of 10 MNIST-1D rows differ in their curves with the EPYC's own kernels). The MNIST-1D signal
# table: 2026-12-06/07 on a 2-core AMD EPYC, whose own arithmetic retrains its rows (and the Intel path does
# not). benchmarks/optnas_bench/arithmetic_check.py measures both.
_INTEL_AVX512, _AMD_EPYC = "18b47480770debac", "a7cd957d03c70fd4"
SHIPPED = {"mnist1d": _INTEL_AVX512, "digits": _INTEL_AVX512, "mnist1d_signal": _AMD_EPYC}

# (rows, inputs, outputs) of the tables' products: batches of 128, the last partial training batch (112),
# evaluation batches (400); input widths 40 (MNIST-1D) and 64 (digits), the width 72, hidden 64, 10 classes.
_SHAPES = ((128, 40, 72), (128, 64, 72), (128, 72, 64), (128, 64, 64), (128, 72, 10), (112, 40, 72),
           (112, 72, 64), (400, 72, 64), (400, 72, 10), (128, 72, 72))


def _probe() -> bytes:
    g = torch.Generator().manual_seed(0)
    out: list[torch.Tensor] = []
    for m, k, n in _SHAPES:
        x, w, b = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g), torch.randn(n, generator=g)
        y = torch.nn.functional.linear(x, w, b)  # forward
        grad = torch.randn(m, n, generator=g)
        out += [y, grad @ w, grad.t() @ x]  # the backward's two products
    logits, target = torch.randn(128, 10, generator=g), torch.randint(0, 10, (128,), generator=g)
    out += [torch.nn.functional.cross_entropy(logits, target), torch.randn(41100, generator=g).norm(),
            torch.randn(10000, generator=g).sum(), torch.tanh(torch.randn(4096, generator=g)),
            torch.nn.functional.gelu(torch.randn(4096, generator=g))]
    return b"".join(t.detach().contiguous().numpy().tobytes() for t in out)


@functools.cache
def arithmetic() -> str:
    """16 hex digits naming the float32 bits this machine's kernels give on one thread (torch's thread
    count is restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return hashlib.sha256(_probe()).hexdigest()[:16]
    finally:
        torch.set_num_threads(threads)

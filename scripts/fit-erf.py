"""Fits the f32 erf of assembly/vector-math.ts and reports its error (python3 with numpy and mpmath).

erf(z) = z + z·P(z²) for |z| ≤ 0.921875, and ±(1 − exp(R(|z|))) beyond, R ≈ log erfc on [0.921875, 4].
P and R are near-minimax (Lawson's iteratively reweighted least squares on Chebyshev nodes) against
mpmath at 40 digits: P in relative error of erf, R weighted by erfc, which is the error it makes in erf.
The check evaluates the result in f32 Horner form (no fused multiply-add), with numpy's f32 exp standing
in for the kernel's, and prints the worst error in f32 ulps.
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 40
f32 = np.float32
BREAK = 0.921875


def lawson(xs, target, scale, degree, basis, iterations=60):
    powers = np.array([[basis(x) ** k for k in range(degree + 1)] for x in xs])
    weights = np.ones_like(xs)
    for _ in range(iterations):
        w = np.sqrt(weights) / scale
        coefficients, *_ = np.linalg.lstsq(powers * w[:, None], target * w, rcond=None)
        error = np.abs(powers @ coefficients - target) / scale
        weights = weights * error
        weights /= weights.sum()
    return coefficients, error.max()


def chebyshev_nodes(lo, hi, count):
    return np.cos(np.linspace(0, np.pi, count)) * (hi - lo) / 2 + (hi + lo) / 2


near_z = np.abs(chebyshev_nodes(0, BREAK, 800)) + 1e-6
near, near_error = lawson(near_z, np.array([float(mp.erf(z) / z - 1) for z in near_z]), np.ones_like(near_z), 6, lambda z: z * z)
far_t = chebyshev_nodes(BREAK, 4, 1200)
erfc_t = np.array([float(mp.erfc(t)) for t in far_t])
far, far_error = lawson(far_t, np.array([float(mp.log(mp.erfc(t))) for t in far_t]), 1 / erfc_t, 6, lambda t: t)
near, far = [f32(c) for c in near], [f32(c) for c in far]
print("P (z², constant first):", [float(c) for c in near], f"fit error {near_error:.2e} relative")
print("R (|z|, constant first):", [float(c) for c in far], f"fit error {far_error:.2e} in erf")


def horner(coefficients, x):
    p = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        p = (p * x + c).astype(f32)
    return p


def erf_f32(z):
    z = z.astype(f32)
    t, s = np.abs(z), (z * z).astype(f32)
    small = (z + (z * horner(near, s)).astype(f32)).astype(f32)
    big = np.copysign((f32(1) - np.exp(horner(far, np.minimum(t, f32(4)))).astype(f32)).astype(f32), z)
    return np.where(t <= f32(BREAK), small, big)


zs = np.concatenate([np.linspace(-6, 6, 120001), np.geomspace(1e-30, 1, 1000), -np.geomspace(1e-30, 1, 1000)]).astype(f32)
exact = np.array([float(mp.erf(mp.mpf(float(z)))) for z in zs])
ulps = np.abs(erf_f32(zs).astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
print(f"worst error {ulps.max():.2f} ulp at z = {zs[np.argmax(ulps)]}")

"""Naive numpy reference implementation of truncated path signatures, used as ground truth by the tests.

Deliberately simple and slow: everything is computed in float64 with explicit loops, power series and
Kronecker products, independently of the library under test.  Only meant for tiny inputs.

Conventions (identical to pysiglib 4.0.0):

* A path has shape (..., L, d); a signature has shape (..., sig_len).  Any leading batch shape is accepted.
* A signature is stored level by level as a list ``[S_0, S_1, ..., S_N]`` of 1-d arrays, ``S_k`` of size d^k,
  with the word (i1..ik) at index i1*d^(k-1) + ... + ik.  The flat form concatenates levels 1..N, preceded
  by the scalar term ``S_0`` (= 1 for a signature) when ``scalar_term=True``.
* Lead-lag maps x_0..x_{L-1} to 2L-1 points (Lag_i, Lead_i), lag channels first, with
  Lag = (x0, x0, x1, x1, ...) and Lead = (x0, x1, x1, x2, ...).  Time augmentation then appends
  t_i = i * end_time / (L' - 1) as the last channel (t = 0 for a one-point path).
* The scalar term of an input signature is inferred from its length.  Signatures are group-like, so their
  scalar entry is 1 by definition: ``sig_combine`` reads it as 1 whatever is stored and writes 1, and
  ``sig_combine_backprop`` gives it gradient 0 (pysiglib's convention, which tensorsig follows).
"""

import numpy as np


def _aug_dim(dimension, time_aug, lead_lag):
    """Dimension of the path after lead-lag and time augmentation."""
    return dimension * (2 if lead_lag else 1) + (1 if time_aug else 0)


def sig_length(dimension, degree, time_aug=False, lead_lag=False, scalar_term=False):
    """Length of a flat truncated signature."""
    d = _aug_dim(dimension, time_aug, lead_lag)
    return sum(d**k for k in range(0 if scalar_term else 1, degree + 1))


def _infer_scalar_term(length, d, degree):
    """Whether a flat signature of the given length (for augmented dimension d) carries the scalar term."""
    if length == sig_length(d, degree, scalar_term=True):
        return True
    if length == sig_length(d, degree, scalar_term=False):
        return False
    raise ValueError(f"signature length {length} does not match dimension {d} and degree {degree}")


def _lead_lag_indices(length):
    """Source point indices of the lag and lead channels for a lead-lag path of 2*length-1 points."""
    lag = [i // 2 for i in range(2 * length - 1)]
    lead = [(i + 1) // 2 for i in range(2 * length - 1)]
    return lag, lead


def transform_path(path, time_aug=False, lead_lag=False, end_time=1.0):
    """Materialise the lead-lag and/or time-augmented path, shape (..., L', d')."""
    x = np.asarray(path, dtype=np.float64)
    if lead_lag:
        lag, lead = _lead_lag_indices(x.shape[-2])
        x = np.concatenate([x[..., lag, :], x[..., lead, :]], axis=-1)
    if time_aug:
        n = x.shape[-2]
        t = np.arange(n, dtype=np.float64) * end_time / max(n - 1, 1)
        t = np.broadcast_to(t[:, None], (*x.shape[:-1], 1))
        x = np.concatenate([x, t], axis=-1)
    return x


def transform_path_backprop(derivs, time_aug=False, lead_lag=False, end_time=1.0):
    """Adjoint of transform_path: gradient wrt the original path (the time channel's gradient is dropped)."""
    g = np.asarray(derivs, dtype=np.float64)
    if time_aug:
        g = g[..., :-1]
    if lead_lag:
        d = g.shape[-1] // 2
        length = (g.shape[-2] + 1) // 2
        lag, lead = _lead_lag_indices(length)
        out = np.zeros((*g.shape[:-2], length, d))
        for i in range(g.shape[-2]):
            out[..., lag[i], :] += g[..., i, :d]
            out[..., lead[i], :] += g[..., i, d:]
        g = out
    return g.copy()


def tensor_exp(z, degree):
    """Truncated tensor exponential of a vector z as levels [z^{(x)k} / k! for k = 0..degree]."""
    z = np.asarray(z, dtype=np.float64)
    levels = [np.ones(1)]
    power = np.ones(1)
    factorial = 1.0
    for k in range(1, degree + 1):
        power = np.kron(power, z)
        factorial *= k
        levels.append(power / factorial)
    return levels


def chen_product(a, b, degree):
    """Truncated tensor product of two level lists: C_k = sum_{i+j=k} A_i (x) B_j (level 0 included)."""
    return [sum(np.kron(a[i], b[k - i]) for i in range(k + 1)) for k in range(degree + 1)]


def levels_to_flat(levels, scalar_term):
    """Concatenate levels into a flat signature (level 0 kept only when scalar_term)."""
    return np.concatenate([np.zeros(0), *list(levels[0 if scalar_term else 1 :])])


def flat_to_levels(flat, d, degree, scalar_term):
    """Split a flat signature into levels; level 0 is 1 when there is no scalar term."""
    flat = np.asarray(flat, dtype=np.float64)
    levels = [flat[0:1].copy() if scalar_term else np.ones(1)]
    start = 1 if scalar_term else 0
    for k in range(1, degree + 1):
        levels.append(flat[start : start + d**k].copy())
        start += d**k
    return levels


def _identity(d, degree):
    """Level list of the signature of a constant path (1, 0, 0, ...)."""
    return [np.ones(1)] + [np.zeros(d**k) for k in range(1, degree + 1)]


def _sig_levels(p, degree):
    """Signature levels of a single (already transformed) path p of shape (L, d)."""
    s = _identity(p.shape[-1], degree)
    for t in range(p.shape[0] - 1):
        s = chen_product(s, tensor_exp(p[t + 1] - p[t], degree), degree)
    return s


def sig(path, degree, time_aug=False, lead_lag=False, end_time=1.0, scalar_term=False):
    """Truncated signature of a (batch of) path(s), as a product of exponentials of the increments."""
    x = transform_path(path, time_aug, lead_lag, end_time)
    batch = x.shape[:-2]
    out = np.zeros((*batch, sig_length(x.shape[-1], degree, scalar_term=scalar_term)))
    for idx in np.ndindex(batch):
        out[idx] = levels_to_flat(_sig_levels(x[idx], degree), scalar_term)
    return out


def sig_combine(sig1, sig2, dimension, degree, time_aug=False, lead_lag=False):
    """Chen product of two flat signatures of the augmented dimension (same scalar-term format as inputs)."""
    d = _aug_dim(dimension, time_aug, lead_lag)
    s1, s2 = np.broadcast_arrays(np.asarray(sig1, dtype=np.float64), np.asarray(sig2, dtype=np.float64))
    scalar_term = _infer_scalar_term(s1.shape[-1], d, degree)
    out = np.zeros(s1.shape)
    for idx in np.ndindex(s1.shape[:-1]):
        a = flat_to_levels(s1[idx], d, degree, scalar_term)
        b = flat_to_levels(s2[idx], d, degree, scalar_term)
        a[0], b[0] = np.ones(1), np.ones(1)
        out[idx] = levels_to_flat(chen_product(a, b, degree), scalar_term)
    return out


def sig_combine_backprop(deriv, sig1, sig2, dimension, degree, time_aug=False, lead_lag=False):
    """Adjoint of sig_combine: returns (dsig1, dsig2) in the same format as the inputs."""
    d = _aug_dim(dimension, time_aug, lead_lag)
    g, s1, s2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (deriv, sig1, sig2)))
    scalar_term = _infer_scalar_term(s1.shape[-1], d, degree)
    ds1, ds2 = np.zeros(s1.shape), np.zeros(s2.shape)
    for idx in np.ndindex(s1.shape[:-1]):
        gl = flat_to_levels(g[idx], d, degree, scalar_term)
        if not scalar_term:
            gl[0] = np.zeros(1)
        a = flat_to_levels(s1[idx], d, degree, scalar_term)
        b = flat_to_levels(s2[idx], d, degree, scalar_term)
        a[0], b[0] = np.ones(1), np.ones(1)
        da = [np.zeros(d**k) for k in range(degree + 1)]
        db = [np.zeros(d**k) for k in range(degree + 1)]
        for lvl in range(degree + 1):
            for r in range(degree + 1 - lvl):
                m = gl[lvl + r].reshape(d**lvl, d**r)  # m[u, v] = G_{l+r}[uv]
                da[lvl] += m @ b[r]
                db[r] += a[lvl] @ m
        da[0], db[0] = np.zeros(1), np.zeros(1)
        ds1[idx] = levels_to_flat(da, scalar_term)
        ds2[idx] = levels_to_flat(db, scalar_term)
    return ds1, ds2


def _dexp(z, a, degree):
    """Directional derivative of tensor_exp at z along e_a: sum_k 1/k! sum_p z^p (x) e_a (x) z^(k-1-p)."""
    d = z.shape[0]
    e = np.zeros(d)
    e[a] = 1.0
    powers = [np.ones(1)]
    for _ in range(degree):
        powers.append(np.kron(powers[-1], z))
    levels = [np.zeros(1)]
    factorial = 1.0
    for k in range(1, degree + 1):
        factorial *= k
        term = sum(np.kron(np.kron(powers[p], e), powers[k - 1 - p]) for p in range(k))
        levels.append(term / factorial)
    return levels


def sig_backprop(path, sig_derivs, degree, time_aug=False, lead_lag=False, end_time=1.0):
    """Gradient of <sig_derivs, sig(path)> wrt the path, via prefix (x) dexp (x) suffix per increment."""
    x = transform_path(path, time_aug, lead_lag, end_time)
    batch, (n, d) = x.shape[:-2], x.shape[-2:]
    g_all = np.broadcast_to(np.asarray(sig_derivs, dtype=np.float64), batch + np.shape(sig_derivs)[-1:])
    scalar_term = _infer_scalar_term(g_all.shape[-1], d, degree)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(batch):
        g = flat_to_levels(g_all[idx], d, degree, scalar_term)
        g[0] = np.zeros(1)  # the scalar term is constant
        p = x[idx]
        z = [p[t + 1] - p[t] for t in range(n - 1)]
        for t in range(n - 1):
            prefix = _sig_levels(p[: t + 1], degree)  # S(x_0..x_t): increments 0..t-1
            suffix = _sig_levels(p[t + 1 :], degree)  # S(x_{t+1}..x_{n-1}): increments t+1..n-2
            for a in range(d):
                full = chen_product(chen_product(prefix, _dexp(z[t], a, degree), degree), suffix, degree)
                dz = sum(float(np.dot(g[k], full[k])) for k in range(degree + 1))
                grad[(*idx, t + 1, a)] += dz
                grad[(*idx, t, a)] -= dz
    return transform_path_backprop(grad, time_aug, lead_lag, end_time)


def finite_difference_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function f at the array x (float64)."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        grad[idx] = (float(f(xp)) - float(f(xm))) / (2 * eps)
    return grad


def tensor_exp_levels(y, degree):
    """Truncated exponential of a general tensor y (a level list with y[0] = 0) by its power series
    sum_k y^k / k!, each power a full truncated tensor product."""
    result = [np.ones(1)] + [np.zeros_like(level) for level in y[1:]]
    power = [np.ones(1)] + [np.zeros_like(level) for level in y[1:]]
    factorial = 1.0
    for k in range(1, degree + 1):
        power = chen_product(power, y, degree)
        factorial *= k
        result = [r + p / factorial for r, p in zip(result, power)]
    return result


def embed_correction(row, dimension, degree, augmented_dimension):
    """Level list [0, 0, c2, ..., cN] of a correction row (levels 2..m over ``dimension`` letters,
    concatenated) written over the first letters of an alphabet of ``augmented_dimension``."""
    levels = [np.zeros(1)] + [np.zeros(augmented_dimension**k) for k in range(1, degree + 1)]
    start = 0
    k = 2
    while start < len(row):
        for word in np.ndindex(*(dimension,) * k):
            index = sum(letter * augmented_dimension ** (k - 1 - j) for j, letter in enumerate(word))
            levels[k][index] = row[start]
            start += 1
        k += 1
    return levels


def sig_corrected(path, degree, correction, time_aug=False, end_time=1.0, scalar_term=False):
    """Signature of one path or a batch whose segment t enters as exp(z_t + c_t) (pysiglib's
    ``correction``), each exponential by its power series, chained by full Chen products.
    ``correction`` is (C,), (L-1, C) or (*batch, L-1, C), over the original channels."""
    x = transform_path(path, time_aug, False, end_time)
    batch, (n, d_aug) = x.shape[:-2], x.shape[-2:]
    dimension = np.shape(path)[-1]
    c = np.asarray(correction, dtype=np.float64)
    if c.ndim == 1:
        c = np.broadcast_to(c, (max(n - 1, 0), c.shape[0]))
    if c.ndim == 2:
        c = np.broadcast_to(c, (*batch, *c.shape))
    out = np.zeros((*batch, sig_length(d_aug, degree, scalar_term=scalar_term)))
    for idx in np.ndindex(batch):
        s = _identity(d_aug, degree)
        for t in range(n - 1):
            y = embed_correction(c[idx][t], dimension, degree, d_aug)
            y[1] = x[idx][t + 1] - x[idx][t]
            s = chen_product(s, tensor_exp_levels(y, degree), degree)
        out[idx] = levels_to_flat(s, scalar_term)
    return out


def sig_stream(path, degree, time_aug=False, lead_lag=False, end_time=1.0, scalar_term=False):
    """The signatures of every prefix of the transformed path: shape (*batch, L'-1, sig_len)."""
    x = transform_path(path, time_aug, lead_lag, end_time)
    steps = max(x.shape[-2] - 1, 0)
    rows = [sig(x[..., : t + 2, :], degree, scalar_term=scalar_term) for t in range(steps)]
    width = sig_length(x.shape[-1], degree, scalar_term=scalar_term)
    return np.stack(rows, axis=-2) if rows else np.zeros((*x.shape[:-2], 0, width))

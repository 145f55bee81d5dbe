// The transformed paths themselves (time augmentation, lead-lag) and their adjoint, one thread
// per output value. Output and gradients are contiguous.

// Writes the transformed paths: batch x length' x D (D = channels after the transforms).
extern "C" __global__ void transform(Path p, long long batch, real *out) {
    const int points = p.lead_lag ? 2 * p.length - 1 : p.length;
    const long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (e >= batch * points * D) return;
    const long long b = e / ((long long)points * D);
    const int t = (int)(e / D % points), c = (int)(e % D);
    const real *base = p.data + b * p.stride_batch;
    const int d = p.dim;
    real v;
    if (p.time_aug && c == D - 1) {
        v = p.dt * (real)t;
    } else if (!p.lead_lag) {
        v = at(p, base, t, c);
    } else {
        v = c < d ? at(p, base, t / 2, c) : at(p, base, (t + 1) / 2, c - d);
    }
    out[e] = v;
}

// The adjoint of `transform`: each original value collects the gradients of the copies made of
// it (the lag copies at points 2t, 2t+1 and the lead copies at 2t-1, 2t); time is dropped.
// `grad` is batch x length' x D, `out` batch x length x dim.
extern "C" __global__ void transform_backward(const real *grad, int length, int dim, int time_aug, int lead_lag,
                                              long long batch, real *out) {
    const int points = lead_lag ? 2 * length - 1 : length;
    const long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (e >= batch * length * dim) return;
    const long long b = e / ((long long)length * dim);
    const int t = (int)(e / dim % length), c = (int)(e % dim);
    const real *g = grad + b * (long long)points * D;
    real v;
    if (!lead_lag) {
        v = g[(long long)t * D + c];
    } else {
        v = g[2LL * t * D + c] + g[2LL * t * D + dim + c];
        if (2 * t + 1 < points) v += g[(2LL * t + 1) * D + c];
        if (t > 0) v += g[(2LL * t - 1) * D + dim + c];
    }
    out[e] = v;
}

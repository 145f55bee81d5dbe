// Shared by every tensorsig kernel. Compiled by NVRTC with -DTS_REAL=float|double,
// -DTS_DIM=<channels after transforms>, -DTS_DEGREE=<N>, -DTS_DUAL=0|1 (and -DTS_CHUNK, see
// signature.cu): loops over levels and letters unroll and every division by a power of the
// dimension is by a constant.
//
// Layout: levels 1..N concatenated, word (i1..ik) of level k at offset(k) + i1*d^(k-1) + ... + ik.
// Signatures are built by left multiplication on word-reversed tensors (exp(z) (x) rev(A)), so
// that every update is out[a*m + i] (+)= left[a] * right[i]: threads take i, letters a unroll.

typedef TS_REAL real;
#define D TS_DIM
#define NDEG TS_DEGREE

// b^e and offset(k) without loops: called with loop counters of unrolled loops, they must fold to
// constants, and NVVM unrolls inner loops first, so a loop in here would stay a loop (and every
// index split by a power of d a division).
__host__ __device__ constexpr long long ipow(long long b, int e) {
    // Square-and-multiply, written out; squares are formed only while e has higher bits, so
    // that no intermediate overflows where b^e does not.
    long long p = e & 1 ? b : 1;
    if (e >= 2) {
        const long long b2 = b * b;
        p *= e & 2 ? b2 : 1;
        if (e >= 4) {
            const long long b4 = b2 * b2;
            p *= e & 4 ? b4 : 1;
            if (e >= 8) {
                const long long b8 = b4 * b4;
                p *= e & 8 ? b8 : 1;
                if (e >= 16) {
                    const long long b16 = b8 * b8;
                    p *= e & 16 ? b16 : 1;
                    if (e >= 32) p *= b16 * b16;
                }
            }
        }
    }
    return p;
}
// offset(k) = d + d^2 + ... + d^(k-1); offset(N+1) is the length.
__host__ __device__ constexpr long long offset(int k) {
    return k <= 1 ? 0 : D == 1 ? k - 1 : (ipow(D, k) - D) / (D - 1);
}
#define LEN (offset(NDEG + 1))
#define TOP (ipow(D, NDEG > 0 ? NDEG - 1 : 0))

// Dual numbers a + eps*t (eps^2 = 0): running the same code on them differentiates it.
struct dual {
    real v, t;
};
__device__ __forceinline__ dual operator+(dual a, dual b) { return {a.v + b.v, a.t + b.t}; }
__device__ __forceinline__ dual operator-(dual a, dual b) { return {a.v - b.v, a.t - b.t}; }
__device__ __forceinline__ dual operator*(dual a, dual b) { return {a.v * b.v, a.v * b.t + a.t * b.v}; }
__device__ __forceinline__ dual operator*(dual a, real s) { return {a.v * s, a.t * s}; }
__device__ __forceinline__ dual &operator+=(dual &a, dual b) { a = a + b; return a; }
__device__ __forceinline__ dual &operator-=(dual &a, dual b) { a = a - b; return a; }
__device__ __forceinline__ dual dual_zero() { return {0, 0}; }

#if TS_DUAL
typedef dual num;
#define NUM_ZERO (dual_zero())
__device__ __forceinline__ num make_num(real v, real t) { return {v, t}; }
__device__ __forceinline__ real value_of(num x) { return x.v; }
__device__ __forceinline__ real tangent_of(num x) { return x.t; }
#else
typedef real num;
#define NUM_ZERO ((real)0)
__device__ __forceinline__ num make_num(real v, real) { return v; }
__device__ __forceinline__ real value_of(num x) { return x; }
__device__ __forceinline__ real tangent_of(num) { return 0; }
#endif

// A strided path and the transforms applied to its increments.
struct Path {
    const real *data;
    long long stride_batch, stride_time, stride_channel;
    int length;   // points of the original path
    int dim;      // channels of the original path
    int time_aug; // append time as the last channel
    int lead_lag; // lag channels, then lead channels
    real dt;      // time step between transformed points
};

__device__ __forceinline__ real at(const Path &p, const real *base, int t, int c) {
    return base[t * p.stride_time + c * p.stride_channel];
}

// Channel c of increment `step` of the transformed path whose points start at `base`.
// `with_time` is 0 for a direction (tangent), whose time channel does not move.
__device__ __forceinline__ real increment(const Path &p, const real *base, long long step, int c, int with_time) {
    const int d = p.dim;
    if (p.time_aug && c == D - 1) return with_time ? p.dt : (real)0;
    if (!p.lead_lag) return at(p, base, step + 1, c) - at(p, base, step, c);
    const long long t = step / 2;
    const bool lead_moves = step % 2 == 0;
    if (c < d) return lead_moves ? (real)0 : at(p, base, t + 1, c) - at(p, base, t, c);
    return lead_moves ? at(p, base, t + 1, c - d) - at(p, base, t, c - d) : (real)0;
}

// Adds the gradient g of channel c of increment `step` to the original path's gradient
// (contiguous, length x dim), atomically; the time channel does not depend on the path.
__device__ __forceinline__ void scatter(const Path &p, real *grad, long long step, int c, real g) {
    const int d = p.dim;
    if (p.time_aug && c == D - 1) return;
    long long t = step;
    int channel = c;
    if (p.lead_lag) {
        t = step / 2;
        const bool lead_moves = step % 2 == 0;
        if ((c < d) == lead_moves) return; // this half did not move in this step
        channel = c < d ? c : c - d;
    }
    atomicAdd(&grad[t * d + channel], -g);
    atomicAdd(&grad[(t + 1) * d + channel], g);
}

// The index of the reversed word of index i (k letters).
__device__ __forceinline__ long long reversed(long long i, int k) {
    long long j = 0;
    for (int p = 0; p < k; ++p) {
        j = j * D + i % D;
        i /= D;
    }
    return j;
}

// Block-wide barrier.
#define SYNC() __syncthreads()

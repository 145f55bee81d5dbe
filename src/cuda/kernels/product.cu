// Chen products of signatures (natural word order, scalar term 1) and their adjoint, one thread
// per output coefficient: (A (x) B)_k = A_k + B_k + sum_{l=1}^{k-1} A_l (x) B_{k-l}.

// The level of coefficient e of levels 1..N, and e's index within it.
__device__ __forceinline__ int level_of(long long e, long long &within) {
    int k = 1;
#pragma unroll
    for (int l = 1; l < NDEG; ++l)
        if (e >= offset(l + 1)) k = l + 1;
    within = e - offset(k);
    return k;
}

// Where pair p's rows of a and b start: rows come in groups of `group` (row p is row p % group of
// group p / group), groups `group_stride` values apart. One group is a plain array of rows; a
// group stride of twice the group lets a and b be the even and odd groups of one array, as when
// pieces of paths are joined pairwise (a tree of products).
__device__ __forceinline__ long long row_start(long long p, int row, long long group, long long group_stride) {
    return p / group * group_stride + p % group * row;
}

// out = a (x) b for `count` pairs of rows of `row` values (the first `skip` a scalar term, read
// as 1; see row_start for `group`), written to rows of `out_row` values (the first `out_skip`
// set to 1).
extern "C" __global__ void product(const real *a, const real *b, real *out, long long count, int row, int skip,
                                   int out_row, int out_skip, long long group, long long group_stride) {
    const long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (e >= count * out_row) return;
    const long long p = e / out_row, i = e % out_row - out_skip;
    if (i < 0) {
        out[e] = 1;
        return;
    }
    const long long start = row_start(p, row, group, group_stride) + skip;
    const real *A = a + start, *B = b + start;
    long long q;
    const int k = level_of(i, q);
    real c = A[i] + B[i];
    for (int l = 1; l < k; ++l) {
        const long long right = ipow(D, k - l);
        c += A[offset(l) + q / right] * B[offset(k - l) + q % right];
    }
    out[e] = c;
}

// The adjoint of `product`: da_l[u] = G_l[u] + sum_{r>=1} sum_v G_{l+r}[u v] B_r[v] and
// db_r[v] = G_r[v] + sum_{l>=1} sum_u A_l[u] G_{l+r}[u v]; threads [0, count*row) write da,
// [count*row, 2*count*row) db. Scalar entries get 0. a, b, da and db are grouped alike (see
// row_start); g is a plain array of rows of `g_row` values after `g_skip` scalar terms.
extern "C" __global__ void product_backward(const real *g, const real *a, const real *b, real *da, real *db,
                                            long long count, int row, int skip, int g_row, int g_skip,
                                            long long group, long long group_stride) {
    const long long total = count * row;
    long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (e >= 2 * total) return;
    const bool left = e < total;
    if (!left) e -= total;
    const long long p = e / row, i = e % row - skip;
    const long long start = row_start(p, row, group, group_stride);
    real *out = (left ? da : db) + start;
    if (i < 0) {
        out[i + skip] = 0;
        return;
    }
    out += skip + i;
    const real *G = g + p * g_row + g_skip, *A = a + start + skip, *B = b + start + skip;
    long long q;
    const int k = level_of(i, q);
    real c = G[i];
    if (left) {
        for (int r = 1; k + r <= NDEG; ++r) {
            const long long width = ipow(D, r);
            const real *Gk = G + offset(k + r) + q * width, *Br = B + offset(r);
            for (long long v = 0; v < width; ++v) c += Gk[v] * Br[v];
        }
    } else {
        for (int l = 1; k + l <= NDEG; ++l) {
            const long long width = ipow(D, k), count_l = ipow(D, l);
            const real *Gk = G + offset(k + l) + q, *Al = A + offset(l);
            for (long long u = 0; u < count_l; ++u) c += Al[u] * Gk[u * width];
        }
    }
    *out = c;
}

// Chen products of signatures (natural word order, scalar term 1) and their adjoint, one thread
// block per pair of rows, its threads over each level's coefficients (levels unroll, so every
// index split is by a constant power of d): (A (x) B)_k = A_k + B_k + sum_{l=1}^{k-1} A_l (x) B_{k-l}.

// Where pair p's rows of a and b start: rows come in groups of `group` (row p is row p % group of
// group p / group), groups `group_stride` values apart. One group is a plain array of rows; a
// group stride of twice the group lets a and b be the even and odd groups of one array, as when
// pieces of paths are joined pairwise (a tree of products).
__device__ __forceinline__ long long row_start(long long p, int row, long long group, long long group_stride) {
    return p / group * group_stride + p % group * row;
}

// out = a (x) b for `count` pairs of rows of `row` values (the first `skip` a scalar term, read
// as 1; see row_start for `group`), written to rows of `out_row` values (the first `out_skip`
// set to 1). One block per pair: grid = count.
extern "C" __global__ void product(const real *a, const real *b, real *out, long long count, int row, int skip,
                                   int out_row, int out_skip, long long group, long long group_stride) {
    const long long p = blockIdx.x;
    const long long start = row_start(p, row, group, group_stride) + skip;
    const real *A = a + start, *B = b + start;
    real *o = out + p * out_row + out_skip;
    if (out_skip && threadIdx.x == 0) o[-1] = 1;
#pragma unroll
    for (int k = 1; k <= NDEG; ++k) {
        for (int i = threadIdx.x; i < (int)ipow(D, k); i += blockDim.x) {
            real c = A[offset(k) + i] + B[offset(k) + i];
#pragma unroll
            for (int l = 1; l < k; ++l) {
                const int right = (int)ipow(D, k - l);
                c += A[offset(l) + i / right] * B[offset(k - l) + i % right];
            }
            o[offset(k) + i] = c;
        }
    }
}

// The adjoint of `product`: da_l[u] = G_l[u] + sum_{r>=1} sum_v G_{l+r}[u v] B_r[v] and
// db_r[v] = G_r[v] + sum_{l>=1} sum_u A_l[u] G_{l+r}[u v]. Scalar entries get 0. a, b, da and db
// are grouped alike (see row_start); g is a plain array of rows of `g_row` values after `g_skip`
// scalar terms. One block per pair: grid = count.
extern "C" __global__ void product_backward(const real *g, const real *a, const real *b, real *da, real *db,
                                            long long count, int row, int skip, int g_row, int g_skip,
                                            long long group, long long group_stride) {
    const long long p = blockIdx.x;
    const long long start = row_start(p, row, group, group_stride);
    const real *G = g + p * g_row + g_skip, *A = a + start + skip, *B = b + start + skip;
    real *dA = da + start + skip, *dB = db + start + skip;
    if (skip && threadIdx.x == 0) dA[-1] = dB[-1] = 0;
#pragma unroll
    for (int k = 1; k <= NDEG; ++k) {
        const int width = (int)ipow(D, k);
        for (int i = threadIdx.x; i < width; i += blockDim.x) {
            real left = G[offset(k) + i], right = left;
#pragma unroll
            for (int r = 1; k + r <= NDEG; ++r) {
                // da_k[i] += sum_v G_{k+r}[i d^r + v] B_r[v]; db_k[i] += sum_u A_r[u] G_{r+k}[u d^k + i]
                const int span = (int)ipow(D, r);
                const real *Gl = G + offset(k + r) + i * span, *Br = B + offset(r);
                for (int v = 0; v < span; ++v) left += Gl[v] * Br[v];
                const real *Gr = G + offset(k + r) + i, *Ar = A + offset(r);
                for (int u = 0; u < span; ++u) right += Ar[u] * Gr[u * width];
            }
            dA[offset(k) + i] = left;
            dB[offset(k) + i] = right;
        }
    }
}

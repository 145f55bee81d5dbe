// Signatures and their backward passes, one thread block per job.
//
// Forward: a job is a run of increments of one path (the whole path, or a piece of it when few
// long paths are cut in time to fill the GPU). The block folds each increment into the
// word-reversed running signature with the fused multiply-exponentiate (Horner's scheme, levels
// from the top down, in place), threads splitting every level, then writes the signature in the
// natural word order. With TS_DUAL the same code runs on dual numbers x + eps*v and also yields
// the directional derivative dS[v].
//
// Backward: one block per path walks back from the end signature, undoing each step with
// exp(-z) while pushing the gradient through it (reversibility: no stored states). With TS_DUAL
// it yields the Hessian-vector product as well.

// Shared memory of the forward pass: increment, scaled increments, two chain levels, and the
// state when it fits (else `global_state`).
__device__ __forceinline__ long long forward_scratch() { return D + NDEG * D + 2 * TOP; }

// One step of the forward pass: A <- exp(z) (x) A on the reversed tensor.
__device__ __forceinline__ void horner_step(num *A, const num *z, const num *zs, num *ping, num *pong) {
    const int tid = threadIdx.x, nt = blockDim.x;
#pragma unroll
    for (int k = NDEG; k >= 2; --k) {
        num *cur = ping, *next = pong;
        // s_1 = A_1 + z/k
        for (int c = tid; c < D; c += nt) cur[c] = A[c] + zs[(k - 1) * D + c];
        SYNC();
#pragma unroll
        for (int j = 1; j <= k - 2; ++j) {
            // s_{j+1}[a*m + i] = A_{j+1}[a*m + i] + z_a/(k-j) * s_j[i]
            const long long m = ipow(D, j);
            const num *Aj = A + offset(j + 1);
#pragma unroll
            for (int a = 0; a < D; ++a) {
                const num za = zs[(k - j - 1) * D + a];
                for (long long i = tid; i < m; i += nt) next[a * m + i] = Aj[a * m + i] + za * cur[i];
            }
            SYNC();
            num *t = cur;
            cur = next;
            next = t;
        }
        // A_k[a*m + i] += z_a * s_{k-1}[i]
        const long long m = ipow(D, k - 1);
        num *Ak = A + offset(k);
#pragma unroll
        for (int a = 0; a < D; ++a) {
            const num za = z[a];
            for (long long i = tid; i < m; i += nt) Ak[a * m + i] += za * cur[i];
        }
        SYNC();
    }
    for (int c = tid; c < D; c += nt) A[c] += z[c];
    SYNC();
}

// Writes z (increment `step`, with the direction's as tangent) and zs[m-1] = z/m into shared
// memory.
__device__ __forceinline__ void load_increment(const Path &p, const real *base, const Path &dir, const real *dir_base,
                                               long long step, num *z, num *zs) {
    const int tid = threadIdx.x, nt = blockDim.x;
    for (int c = tid; c < D; c += nt) {
        const real t = dir_base ? increment(dir, dir_base, step, c, 0) : (real)0;
        z[c] = make_num(increment(p, base, step, c, 1), t);
    }
    SYNC();
    for (int e = tid; e < NDEG * D; e += nt) zs[e] = z[e % D] * ((real)1 / (real)(e / D + 1));
    SYNC();
}

// Signatures of `jobs = pieces * batch` runs of increments: job j is piece j / batch (of `steps`
// increments in all) of path j % batch, so that each piece's signatures are contiguous rows.
// Writes levels 1..N of each into row j of `out` (`out_row` values, after `out_skip` scalar
// terms, set to 1), in the natural word order, and, for dual numbers, dS[v] into out_tangent.
extern "C" __global__ void signature_forward(Path path, Path dir, int pieces, long long steps, real *out,
                                             real *out_tangent, int out_row, int out_skip, num *global_state,
                                             int use_global) {
    extern __shared__ __align__(16) unsigned char smem_bytes[];
    num *smem = reinterpret_cast<num *>(smem_bytes);
    const int tid = threadIdx.x, nt = blockDim.x;
    const long long job = blockIdx.x, batch = gridDim.x / pieces;
    const long long b = job % batch, piece = job / batch;
    const long long first = steps * piece / pieces, last = steps * (piece + 1) / pieces;
    num *z = smem, *zs = z + D, *ping = zs + NDEG * D, *pong = ping + TOP;
    num *A = use_global ? global_state + job * LEN : pong + TOP;
    const real *base = path.data + b * path.stride_batch;
    const real *dir_base = dir.data ? dir.data + b * dir.stride_batch : nullptr;
    for (long long e = tid; e < LEN; e += nt) A[e] = NUM_ZERO;
    SYNC();
    for (long long s = first; s < last; ++s) {
        load_increment(path, base, dir, dir_base, s, z, zs);
        horner_step(A, z, zs, ping, pong);
    }
    // Back to the natural word order: reversal is an involution, so read from the reversed index.
    real *o = out + job * out_row + out_skip;
    real *ot = out_tangent ? out_tangent + job * out_row + out_skip : nullptr;
    if (out_skip && tid == 0) {
        o[-1] = 1;
        if (ot) ot[-1] = 0;
    }
#pragma unroll
    for (int k = 1; k <= NDEG; ++k) {
        const long long m = ipow(D, k), off = offset(k);
        for (long long i = tid; i < m; i += nt) {
            const num x = A[off + reversed(i, k)];
            o[off + i] = value_of(x);
            if (ot) ot[off + i] = tangent_of(x);
        }
    }
}

// Sums `acc[a]` over the block into `out[a]` (a < D); `red` holds one row of D per warp.
__device__ __forceinline__ void block_sum(num (&acc)[D], num *red, num *out) {
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, warps = (blockDim.x + 31) / 32;
#pragma unroll
    for (int a = 0; a < D; ++a) {
        num v = acc[a];
        for (int shift = 16; shift > 0; shift /= 2) {
#if TS_DUAL
            v.v += __shfl_down_sync(0xffffffffu, v.v, shift);
            v.t += __shfl_down_sync(0xffffffffu, v.t, shift);
#else
            v += __shfl_down_sync(0xffffffffu, v, shift);
#endif
        }
        if (lane == 0) red[warp * D + a] = v;
        acc[a] = NUM_ZERO;
    }
    SYNC();
    if (tid < D) {
        num total = NUM_ZERO;
        for (int w = 0; w < warps; ++w) total += red[w * D + tid];
        out[tid] = total;
    }
    SYNC();
}

// Shared memory of the backward pass.
__device__ __forceinline__ long long backward_scratch(int warps) { return D + NDEG * D + offset(NDEG) + 2 * TOP + warps * D + D; }

// Gradients with respect to the paths (batch of them, one block each) of <G_b, S_b>, walking back
// from the end signatures `ends` (rows of `end_row` values, the first `end_skip` of them a scalar
// term; `grads` likewise with `grad_row`, `grad_skip`).
// d_path (zeroed, contiguous batch x length x dim) receives the gradients; with dual numbers,
// `end_tangents` = dS[v] and the direction `dir` give d_path_tangent = H v.
extern "C" __global__ void signature_backward(Path path, Path dir, long long steps, const real *ends,
                                              const real *end_tangents, int end_row, int end_skip,
                                              const real *grads, int grad_row, int grad_skip, real *d_path,
                                              real *d_path_tangent, num *global_state, int use_global) {
    extern __shared__ __align__(16) unsigned char smem_bytes[];
    num *smem = reinterpret_cast<num *>(smem_bytes);
    const int tid = threadIdx.x, nt = blockDim.x, warps = (nt + 31) / 32;
    const long long b = blockIdx.x;
    num *z = smem, *zs = z + D, *chain = zs + NDEG * D, *ds_a = chain + offset(NDEG), *ds_b = ds_a + TOP;
    num *red = ds_b + TOP, *dz = red + warps * D;
    num *A = use_global ? global_state + b * 2 * LEN : dz + D;
    num *G = A + LEN;
    const real *base = path.data + b * path.stride_batch;
    const real *dir_base = dir.data ? dir.data + b * dir.stride_batch : nullptr;
    real *gp = d_path + b * (long long)path.length * path.dim;
    real *gpt = d_path_tangent ? d_path_tangent + b * (long long)path.length * path.dim : nullptr;

    // The word-reversed end state and gradient (the gradient's tangent is zero).
#pragma unroll
    for (int k = 1; k <= NDEG; ++k) {
        const long long m = ipow(D, k), off = offset(k);
        for (long long i = tid; i < m; i += nt) {
            const long long word = off + reversed(i, k);
            const long long end = b * end_row + end_skip + word, grad = b * grad_row + grad_skip + word;
            A[off + i] = make_num(ends[end], end_tangents ? end_tangents[end] : (real)0);
            G[off + i] = make_num(grads[grad], 0);
        }
    }
    SYNC();

    num acc[D];
#pragma unroll
    for (int a = 0; a < D; ++a) acc[a] = NUM_ZERO;

    for (long long s = steps - 1; s >= 0; --s) {
        load_increment(path, base, dir, dir_base, s, z, zs);
        // Level 1: A_1 += z.
        for (int c = tid; c < D; c += nt) A[c] -= z[c];
        if (tid == 0) {
#pragma unroll
            for (int a = 0; a < D; ++a) acc[a] += G[a];
        }
        SYNC();
#pragma unroll
        for (int k = 2; k <= NDEG; ++k) {
            // Recompute the chain s_1..s_{k-1} from the (already recovered) old levels.
            for (int c = tid; c < D; c += nt) chain[c] = A[c] + zs[(k - 1) * D + c];
            SYNC();
#pragma unroll
            for (int j = 1; j <= k - 2; ++j) {
                const long long m = ipow(D, j);
                const num *Aj = A + offset(j + 1), *sj = chain + offset(j);
                num *next = chain + offset(j + 1);
#pragma unroll
                for (int a = 0; a < D; ++a) {
                    const num za = zs[(k - j - 1) * D + a];
                    for (long long i = tid; i < m; i += nt) next[a * m + i] = Aj[a * m + i] + za * sj[i];
                }
                SYNC();
            }
            const long long m = ipow(D, k - 1);
            const num *last = chain + offset(k - 1);
            num *Ak = A + offset(k);
            const num *Gk = G + offset(k);
            // Recover the old A_k (the top level is never read again, so it is left alone), and
            // push G_k through A_k += z (x) s_{k-1}: ds_{k-1}[i] = sum_a z_a G_k[a*m + i],
            // dz_a += sum_i G_k[a*m + i] s_{k-1}[i].
            for (long long i = tid; i < m; i += nt) {
                const num si = last[i];
                num d = NUM_ZERO;
#pragma unroll
                for (int a = 0; a < D; ++a) {
                    const num g = Gk[a * m + i];
                    d += z[a] * g;
                    acc[a] += g * si;
                    if (k < NDEG) Ak[a * m + i] -= z[a] * si;
                }
                ds_a[i] = d;
            }
            SYNC();
            num *ds = ds_a, *ds_next = ds_b;
#pragma unroll
            for (int j = k - 1; j >= 1; --j) {
                // s_j = A_j + h_j: the gradient reaches A_j and h_j alike.
                const long long len = ipow(D, j);
                num *Gj = G + offset(j);
                for (long long i = tid; i < len; i += nt) Gj[i] += ds[i];
                if (j == 1) {
                    // h_1 = z/k
                    if (tid == 0) {
#pragma unroll
                        for (int a = 0; a < D; ++a) acc[a] += ds[a] * ((real)1 / (real)k);
                    }
                } else {
                    // h_j = z/mm (x) s_{j-1}, mm = k-j+1
                    const long long prev = ipow(D, j - 1);
                    const int mm = k - j + 1;
                    const num *sp = chain + offset(j - 1);
                    for (long long i = tid; i < prev; i += nt) {
                        const num si = sp[i];
                        num d = NUM_ZERO;
#pragma unroll
                        for (int a = 0; a < D; ++a) {
                            const num g = ds[a * prev + i];
                            d += zs[(mm - 1) * D + a] * g;
                            acc[a] += g * si * ((real)1 / (real)mm);
                        }
                        ds_next[i] = d;
                    }
                }
                SYNC();
                num *t = ds;
                ds = ds_next;
                ds_next = t;
            }
        }
        // The step's increment gradient, summed over the block, into the path's gradient.
        block_sum(acc, red, dz);
        if (tid < D) {
            scatter(path, gp, s, tid, value_of(dz[tid]));
            if (gpt) scatter(path, gpt, s, tid, tangent_of(dz[tid]));
        }
        SYNC();
    }
}

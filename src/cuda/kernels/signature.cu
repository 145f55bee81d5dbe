// Signatures and their backward passes, one thread block per job.
//
// Forward: a job is a run of increments of one path (the whole path, or a piece of it when few
// paths are cut in time to fill the GPU). The block folds each increment into the word-reversed
// running signature with the fused multiply-exponentiate (Horner's scheme: each level updated
// from the old levels below it), then writes the signature in the natural word order. Two
// kernels: signature_forward_registers keeps the top level in registers, a thread per top-level
// tail, and the levels below double-buffered in shared memory (one barrier a step);
// signature_forward, for signatures too large for that, keeps the whole state in shared (or
// global) memory, threads splitting every level. With TS_DUAL the same code runs on dual numbers
// x + eps*v and also yields the directional derivative dS[v].
//
// Backward: a block per job walks back from the job's end signature, undoing each step with
// exp(-z) while pushing the gradient through it (reversibility: no stored states). With TS_DUAL
// it yields the Hessian-vector product as well.

// Increments are staged in shared memory a chunk of steps at a time: one barrier and one global
// memory latency per chunk instead of per step. TS_CHUNK comes from the host, which sizes the
// shared memory.
#define CHUNK TS_CHUNK

// Shared memory of the forward pass: a chunk of increments, two chain levels, and the state
// when it fits (else `global_state`).
__device__ __forceinline__ long long forward_scratch() { return CHUNK * D + 2 * TOP; }

// One step of the forward pass: A <- exp(z) (x) A on the reversed tensor, by Horner's scheme
// per level k: s_1 = A_1 + z/k, s_{j+1} = A_{j+1} + z/(k-j) (x) s_j, A_k += z (x) s_{k-1}.
// Each level's first chain link is read straight from A_1 (no barrier of its own), and level 1
// moves in the same phase as level 2, by the threads that read it there: 1 + sum(k-2) barriers
// per level above 1.
__device__ __forceinline__ void horner_step(num *A, const num *z, num *ping, num *pong) {
    const int tid = threadIdx.x, nt = blockDim.x;
#pragma unroll
    for (int k = NDEG; k >= 3; --k) {
        num *cur = ping, *next = pong;
        // s_2[a*D + i] = A_2[a*D + i] + z_a/(k-1) * (A_1[i] + z_i/k)
        for (int i = tid; i < D; i += nt) {
            const num s1 = A[i] + z[i] * ((real)1 / (real)k);
#pragma unroll
            for (int a = 0; a < D; ++a) cur[a * D + i] = A[D + a * D + i] + z[a] * ((real)1 / (real)(k - 1)) * s1;
        }
        SYNC();
#pragma unroll
        for (int j = 2; j <= k - 2; ++j) {
            // s_{j+1}[a*m + i] = A_{j+1}[a*m + i] + z_a/(k-j) * s_j[i]
            const long long m = ipow(D, j);
            const num *Aj = A + offset(j + 1);
            for (long long i = tid; i < m; i += nt) {
                const num si = cur[i];
#pragma unroll
                for (int a = 0; a < D; ++a) next[a * m + i] = Aj[a * m + i] + z[a] * ((real)1 / (real)(k - j)) * si;
            }
            SYNC();
            num *t = cur;
            cur = next;
            next = t;
        }
        // A_k[a*m + i] += z_a * s_{k-1}[i]
        const long long m = ipow(D, k - 1);
        num *Ak = A + offset(k);
        for (long long i = tid; i < m; i += nt) {
            const num si = cur[i];
#pragma unroll
            for (int a = 0; a < D; ++a) Ak[a * m + i] += z[a] * si;
        }
        SYNC();
    }
    // Levels 2 and 1: A_2[a*D + i] += z_a * (A_1[i] + z_i/2), then A_1[i] += z_i by the same
    // thread, the only one that reads A_1[i] in this phase.
    for (int i = tid; i < D; i += nt) {
        const num a1 = A[i];
        if (NDEG >= 2) {
            const num s1 = a1 + z[i] * (real)0.5;
#pragma unroll
            for (int a = 0; a < D; ++a) A[D + a * D + i] += z[a] * s1;
        }
        A[i] = a1 + z[i];
    }
    SYNC();
}

// Writes the increments of steps [first, first + count) (count <= CHUNK, with the direction's as
// tangents) into z, one row of D per step.
__device__ __forceinline__ void load_chunk(const Path &p, const real *base, const Path &dir, const real *dir_base,
                                           long long first, int count, num *z) {
    const int tid = threadIdx.x, nt = blockDim.x;
    for (int e = tid; e < count * D; e += nt) {
        const long long step = first + e / D;
        const int c = e % D;
        const real t = dir_base ? increment(dir, dir_base, step, c, 0) : (real)0;
        z[e] = make_num(increment(p, base, step, c, 1), t);
    }
    SYNC();
}

// The steps of job `job` of `jobs = pieces * batch`: piece job / batch of path job % batch, so
// that each piece's rows are contiguous.
__device__ __forceinline__ void piece_of(long long job, long long jobs, int pieces, long long steps, long long &b,
                                         long long &first, long long &last) {
    const long long batch = jobs / pieces, piece = job / batch;
    b = job % batch;
    first = steps * piece / pieces;
    last = steps * (piece + 1) / pieces;
}

// Row `job` of `out`, and of `out_tangent` if any (else null), after `out_skip` scalar terms,
// which are set (1, tangent 0).
__device__ __forceinline__ void output_row(real *out, real *out_tangent, long long job, int out_row, int out_skip,
                                           real *&o, real *&ot) {
    o = out + job * out_row + out_skip;
    ot = out_tangent ? out_tangent + job * out_row + out_skip : nullptr;
    if (out_skip && threadIdx.x == 0) {
        o[-1] = 1;
        if (ot) ot[-1] = 0;
    }
}

// Writes levels 1..last of the word-reversed state A to o (and ot) in the natural word order:
// reversal is an involution, so each coefficient reads from its reversed index.
__device__ __forceinline__ void write_natural(const num *A, int last, real *o, real *ot) {
    const int tid = threadIdx.x, nt = blockDim.x;
#pragma unroll
    for (int k = 1; k <= last; ++k) {
        const long long m = ipow(D, k), off = offset(k);
        for (long long i = tid; i < m; i += nt) {
            const num x = A[off + reversed(i, k)];
            o[off + i] = value_of(x);
            if (ot) ot[off + i] = tangent_of(x);
        }
    }
}

// Signatures of `jobs = pieces * batch` runs of increments (see piece_of; `steps` increments in
// all). Writes levels 1..N of each into row j of `out` (`out_row` values, after `out_skip` scalar
// terms, set to 1), in the natural word order, and, for dual numbers, dS[v] into out_tangent.
extern "C" __global__ void signature_forward(Path path, Path dir, int pieces, long long steps, real *out,
                                             real *out_tangent, int out_row, int out_skip, num *global_state,
                                             int use_global) {
    extern __shared__ __align__(16) unsigned char smem_bytes[];
    num *smem = reinterpret_cast<num *>(smem_bytes);
    const int tid = threadIdx.x, nt = blockDim.x;
    const long long job = blockIdx.x;
    long long b, first, last;
    piece_of(job, gridDim.x, pieces, steps, b, first, last);
    num *z = smem, *ping = z + CHUNK * D, *pong = ping + TOP;
    num *A = use_global ? global_state + job * LEN : pong + TOP;
    const real *base = path.data + b * path.stride_batch;
    const real *dir_base = dir.data ? dir.data + b * dir.stride_batch : nullptr;
    for (long long e = tid; e < LEN; e += nt) A[e] = NUM_ZERO;
    for (long long s0 = first; NDEG >= 1 && s0 < last; s0 += CHUNK) {
        const int count = (int)min((long long)CHUNK, last - s0);
        load_chunk(path, base, dir, dir_base, s0, count, z);
        for (int s = 0; s < count; ++s) horner_step(A, z + s * D, ping, pong);
    }
    SYNC();
    real *o, *ot;
    output_row(out, out_tangent, job, out_row, out_skip, o, ot);
    write_natural(A, NDEG, o, ot);
}

// s_{K-1}[t] of the Horner chain that updates level K (K >= 2), read from the levels below it
// in A: s_1 = A_1 + z/K, s_{j+1}[a*d^j + u] = A_{j+1}[a*d^j + u] + z_a/(K-j) * s_j[u]. Only t's
// suffixes are visited, one coefficient per level.
template <int K> __device__ __forceinline__ num chain_at(const num *A, const num *z, int t) {
    const int u1 = t % D;
    num c = A[u1] + z[u1] * ((real)1 / (real)K);
#pragma unroll
    for (int j = 2; j <= K - 1; ++j) {
        const int u = t % (int)ipow(D, j);
        const int a = u / (int)ipow(D, j - 1);
        c = A[offset(j) + u] + z[a] * ((real)1 / (real)(K - j + 1)) * c;
    }
    return c;
}

// Level K's share of one step when K < N: A_K[a*d^(K-1) + t] (+)= z_a * s_{K-1}[t] from `cur`
// into `nxt` (level 1: A_1[t] + z_t, one coefficient).
template <int K> __device__ __forceinline__ void lower_level_step(const num *cur, num *nxt, const num *z, int t) {
    if constexpr (K == 1) {
        nxt[t] = cur[t] + z[t];
    } else {
        const num c = chain_at<K>(cur, z, t);
        const int m = (int)ipow(D, K - 1), off = (int)offset(K);
#pragma unroll
        for (int a = 0; a < D; ++a) nxt[off + a * m + t] = cur[off + a * m + t] + z[a] * c;
    }
}

// Work item w of the levels below the top, split across threads: level 1's D coefficients,
// then each lower level's tails (d^(K-1) of them, d coefficients each).
template <int K> __device__ __forceinline__ void lower_levels_step(const num *cur, num *nxt, const num *z, int w) {
    if constexpr (K < NDEG) {
        const int items = K == 1 ? D : (int)ipow(D, K - 1);
        if (w < items) {
            lower_level_step<K>(cur, nxt, z, w);
        } else {
            lower_levels_step<K + 1>(cur, nxt, z, w - items);
        }
    }
}

// Work items of the levels below the top (see lower_levels_step).
__host__ __device__ constexpr long long lower_items() {
    long long items = NDEG > 1 ? D : 0;
    for (int k = 2; k < NDEG; ++k) items += ipow(D, k - 1);
    return items;
}

// The forward pass for signatures whose top level fits the registers of one block (at least
// TOP and lower_items() threads): thread t keeps the top-level coefficients A_N[a*d^(N-1) + t]
// (a < d) in registers, the only ones that update them and, since no level reads the top, the
// only ones that read them. The levels below live twice in shared memory, read from one copy
// and written to the other, so that a step needs a single barrier. Same arguments and result as
// signature_forward (less the global state, never needed here).
extern "C" __global__ void signature_forward_registers(Path path, Path dir, int pieces, long long steps, real *out,
                                                       real *out_tangent, int out_row, int out_skip) {
    constexpr long long LOW = offset(NDEG); // levels 1..N-1
    extern __shared__ __align__(16) unsigned char smem_bytes[];
    num *smem = reinterpret_cast<num *>(smem_bytes);
    const int tid = threadIdx.x, nt = blockDim.x;
    const long long job = blockIdx.x;
    long long b, first, last;
    piece_of(job, gridDim.x, pieces, steps, b, first, last);
    num *zbuf = smem, *cur = zbuf + CHUNK * D, *nxt = cur + LOW;
    const real *base = path.data + b * path.stride_batch;
    const real *dir_base = dir.data ? dir.data + b * dir.stride_batch : nullptr;
    const bool owner = tid < TOP;
    // Lower-level work goes to the last threads, which own the fewest top coefficients.
    const int item = nt - 1 - tid;
    num top[D];
#pragma unroll
    for (int a = 0; a < D; ++a) top[a] = NUM_ZERO;
    for (long long e = tid; e < LOW; e += nt) cur[e] = NUM_ZERO;
    for (long long s0 = first; NDEG >= 1 && s0 < last; s0 += CHUNK) {
        const int count = (int)min((long long)CHUNK, last - s0);
        load_chunk(path, base, dir, dir_base, s0, count, zbuf);
        for (int s = 0; s < count; ++s) {
            const num *z = zbuf + s * D;
            if (owner) {
                num c = NUM_ZERO;
                if constexpr (NDEG >= 2) c = chain_at<NDEG>(cur, z, tid);
#pragma unroll
                for (int a = 0; a < D; ++a) top[a] += NDEG >= 2 ? z[a] * c : z[a];
            }
            if (item < lower_items()) lower_levels_step<1>(cur, nxt, z, item);
            SYNC();
            num *t = cur;
            cur = nxt;
            nxt = t;
        }
    }
    SYNC();
    real *o, *ot;
    output_row(out, out_tangent, job, out_row, out_skip, o, ot);
    write_natural(cur, NDEG - 1, o, ot);
    if (owner && NDEG >= 1) {
        const long long m = TOP, off = offset(NDEG);
#pragma unroll
        for (int a = 0; a < D; ++a) {
            const long long word = reversed(a * m + tid, NDEG);
            o[off + word] = value_of(top[a]);
            if (ot) ot[off + word] = tangent_of(top[a]);
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
__device__ __forceinline__ long long backward_scratch(int warps) { return CHUNK * D + offset(NDEG) + 2 * TOP + warps * D + D; }

// Gradients with respect to the paths of <G_j, S_j> summed over the `jobs = pieces * batch` runs of
// increments (see piece_of), one block each, walking back from the end signatures `ends` (rows of
// `end_row` values, the first `end_skip` of them a scalar term; `grads` likewise with
// `grad_row`, `grad_skip`). d_path (zeroed, contiguous batch x length x dim) receives the
// gradients, atomically: neighbouring pieces share a point. With dual numbers, `end_tangents` =
// dS[v] and the direction `dir` give d_path_tangent = H v.
extern "C" __global__ void signature_backward(Path path, Path dir, int pieces, long long steps, const real *ends,
                                              const real *end_tangents, int end_row, int end_skip,
                                              const real *grads, int grad_row, int grad_skip, real *d_path,
                                              real *d_path_tangent, num *global_state, int use_global) {
    extern __shared__ __align__(16) unsigned char smem_bytes[];
    num *smem = reinterpret_cast<num *>(smem_bytes);
    const int tid = threadIdx.x, nt = blockDim.x, warps = (nt + 31) / 32;
    const long long job = blockIdx.x;
    long long b, first, last;
    piece_of(job, gridDim.x, pieces, steps, b, first, last);
    num *zbuf = smem, *chain = zbuf + CHUNK * D, *ds_a = chain + offset(NDEG), *ds_b = ds_a + TOP;
    num *red = ds_b + TOP, *dz = red + warps * D;
    num *A = use_global ? global_state + job * 2 * LEN : dz + D;
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
            const long long end = job * end_row + end_skip + word, grad = job * grad_row + grad_skip + word;
            A[off + i] = make_num(ends[end], end_tangents ? end_tangents[end] : (real)0);
            G[off + i] = make_num(grads[grad], 0);
        }
    }
    SYNC();

    num acc[D];
#pragma unroll
    for (int a = 0; a < D; ++a) acc[a] = NUM_ZERO;

    for (long long hi = last; hi > first; hi -= CHUNK) {
        const long long lo = max(first, hi - CHUNK);
        load_chunk(path, base, dir, dir_base, lo, (int)(hi - lo), zbuf);
        for (long long s = hi - 1; s >= lo; --s) {
            const num *z = zbuf + (s - lo) * D;
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
                for (int c = tid; c < D; c += nt) chain[c] = A[c] + z[c] * ((real)1 / (real)k);
                SYNC();
#pragma unroll
                for (int j = 1; j <= k - 2; ++j) {
                    const long long m = ipow(D, j);
                    const num *Aj = A + offset(j + 1), *sj = chain + offset(j);
                    num *next = chain + offset(j + 1);
#pragma unroll
                    for (int a = 0; a < D; ++a) {
                        const num za = z[a] * ((real)1 / (real)(k - j));
                        for (long long i = tid; i < m; i += nt) next[a * m + i] = Aj[a * m + i] + za * sj[i];
                    }
                    SYNC();
                }
                const long long m = ipow(D, k - 1);
                const num *tail = chain + offset(k - 1);
                num *Ak = A + offset(k);
                const num *Gk = G + offset(k);
                // Recover the old A_k (the top level is never read again, so it is left alone), and
                // push G_k through A_k += z (x) s_{k-1}: ds_{k-1}[i] = sum_a z_a G_k[a*m + i],
                // dz_a += sum_i G_k[a*m + i] s_{k-1}[i].
                for (long long i = tid; i < m; i += nt) {
                    const num si = tail[i];
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
                                d += z[a] * ((real)1 / (real)mm) * g;
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
}

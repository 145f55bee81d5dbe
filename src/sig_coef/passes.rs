//! Chosen signature coefficients of a group of interleaved paths, and their gradient: the
//! segment update of a [`WordTrie`], its adjoint, and the passes along the paths.

use super::path_groups::{CoefWorkspace, Group, reset};
use super::trie::WordTrie;
use crate::path::{PathTransform, Paths};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// The trie's node values after a segment, for every lane: each chain read from the old
/// values, deepest nodes first so that the update is in place.
#[inline(always)]
fn segment<S: Simd, T: Scalar + Vectorize<S>>(trie: &WordTrie, scaled: &[T], values: &mut [T]) {
    let lanes = <T as Vectorize<S>>::LANES;
    let g = 2 * lanes;
    let (v, sc) = (values.as_mut_ptr(), scaled.as_ptr());
    for (node, chain) in trie.chains() {
        let (mut u0, mut u1) = (
            <T as Vectorize<S>>::splat(T::ONE),
            <T as Vectorize<S>>::splat(T::ONE),
        );
        // SAFETY: the trie's node and scaled indices are below `nodes` and `max_depth·dim`,
        // whose rows of `g` lanes the workspace holds.
        unsafe {
            for link in chain {
                let (a, s) = (v.add(link.node * g), sc.add(link.scaled * g));
                u0 = <T as Vectorize<S>>::mul_add(
                    <T as Vectorize<S>>::load(s),
                    u0,
                    <T as Vectorize<S>>::load(a),
                );
                u1 = <T as Vectorize<S>>::mul_add(
                    <T as Vectorize<S>>::load(s.add(lanes)),
                    u1,
                    <T as Vectorize<S>>::load(a.add(lanes)),
                );
            }
            <T as Vectorize<S>>::store(v.add(node * g), u0);
            <T as Vectorize<S>>::store(v.add(node * g + lanes), u1);
        }
    }
}

/// The adjoint of [`segment`] given the values before it: adds to `grad_before` and `d_scaled`
/// the gradients of `Σ grad_after · values_after` with respect to the values before and to the
/// scaled letters.
#[inline(always)]
fn segment_backward<S: Simd, T: Scalar + Vectorize<S>>(
    trie: &WordTrie,
    scaled: &[T],
    before: &[T],
    grad_after: &[T],
    grad_before: &mut [T],
    d_scaled: &mut [T],
    partial: &mut [T],
) {
    let lanes = <T as Vectorize<S>>::LANES;
    let g = 2 * lanes;
    let (sc, b, ga) = (scaled.as_ptr(), before.as_ptr(), grad_after.as_ptr());
    let (gb, ds, pa) = (
        grad_before.as_mut_ptr(),
        d_scaled.as_mut_ptr(),
        partial.as_mut_ptr(),
    );
    for (node, chain) in trie.chains() {
        // SAFETY: as in `segment`; `partial` holds `max_depth` rows of `g` lanes.
        unsafe {
            // u_r = before[a_r] + scaled_r · u_{r-1}, u_0 = 1: keep u_0 … u_{k-1}.
            let (mut u0, mut u1) = (
                <T as Vectorize<S>>::splat(T::ONE),
                <T as Vectorize<S>>::splat(T::ONE),
            );
            for (r, link) in chain.iter().enumerate() {
                <T as Vectorize<S>>::store(pa.add(r * g), u0);
                <T as Vectorize<S>>::store(pa.add(r * g + lanes), u1);
                let (a, s) = (b.add(link.node * g), sc.add(link.scaled * g));
                u0 = <T as Vectorize<S>>::mul_add(
                    <T as Vectorize<S>>::load(s),
                    u0,
                    <T as Vectorize<S>>::load(a),
                );
                u1 = <T as Vectorize<S>>::mul_add(
                    <T as Vectorize<S>>::load(s.add(lanes)),
                    u1,
                    <T as Vectorize<S>>::load(a.add(lanes)),
                );
            }
            let (mut g0, mut g1) = (
                <T as Vectorize<S>>::load(ga.add(node * g)),
                <T as Vectorize<S>>::load(ga.add(node * g + lanes)),
            );
            for (r, link) in chain.iter().enumerate().rev() {
                let a = gb.add(link.node * g);
                <T as Vectorize<S>>::store(
                    a,
                    <T as Vectorize<S>>::add(<T as Vectorize<S>>::load(a), g0),
                );
                <T as Vectorize<S>>::store(
                    a.add(lanes),
                    <T as Vectorize<S>>::add(<T as Vectorize<S>>::load(a.add(lanes)), g1),
                );
                let d = ds.add(link.scaled * g);
                <T as Vectorize<S>>::store(
                    d,
                    <T as Vectorize<S>>::mul_add(
                        g0,
                        <T as Vectorize<S>>::load(pa.add(r * g)),
                        <T as Vectorize<S>>::load(d),
                    ),
                );
                let d1 = d.add(lanes);
                <T as Vectorize<S>>::store(
                    d1,
                    <T as Vectorize<S>>::mul_add(
                        g1,
                        <T as Vectorize<S>>::load(pa.add(r * g + lanes)),
                        <T as Vectorize<S>>::load(d1),
                    ),
                );
                let s = sc.add(link.scaled * g);
                g0 = <T as Vectorize<S>>::mul(g0, <T as Vectorize<S>>::load(s));
                g1 = <T as Vectorize<S>>::mul(g1, <T as Vectorize<S>>::load(s.add(lanes)));
            }
        }
    }
}

/// Writes the trie's outputs for paths `first .. first + out.len() / outputs` of `paths` into
/// `out` (row-major, one row of `trie.outputs()` per path).
pub(crate) fn coefs_of_group<T: Scalar>(
    trie: &WordTrie,
    paths: &Paths<'_, T>,
    transform: &PathTransform,
    first: usize,
    out: &mut [T],
    ws: &mut CoefWorkspace<T>,
) {
    let count = out.len() / trie.outputs();
    let group = Group::new(trie, paths, transform, first, count);
    simd_dispatch!(<'a, 'p, T: Scalar> |S| {
        group: Group<'a, 'p, T>,
        out: &'a mut [T],
        ws: &'a mut CoefWorkspace<T>,
    } -> () {
        coefs_of_group_at::<S, T>(group, out, ws)
    })
}

/// The body of [`coefs_of_group`] at level `S`.
#[inline(always)]
fn coefs_of_group_at<'a, 'p, S: Simd, T: Scalar + Vectorize<S>>(
    group: Group<'a, 'p, T>,
    out: &'a mut [T],
    ws: &'a mut CoefWorkspace<T>,
) {
    let g = 2 * <T as Vectorize<S>>::LANES;
    reset(&mut ws.values, g);
    let rows = group.rows();
    for step in 0..group.transform.increments(group.paths.len()) {
        group.load::<S>(step, &rows, ws);
        segment::<S, T>(group.trie, &ws.scaled, &mut ws.values);
    }
    let outputs = group.trie.output_nodes();
    for (lane, row) in out.chunks_exact_mut(outputs.len()).enumerate() {
        for (o, &node) in row.iter_mut().zip(outputs) {
            *o = ws.values[node * g + lane];
        }
    }
}

/// Writes into `d_paths` (row-major `count × len × dim` for the paths `first .. first + count`)
/// the gradient of `Σ grads · outputs` with respect to those paths, `grads` holding one row of
/// `trie.outputs()` per path of the whole batch.
///
/// The node values before each step are recomputed by a forward pass (in stretches between
/// checkpoints for long paths), never recovered by walking back, so the gradient's round-off
/// does not grow with the path's length.
pub(crate) fn coefs_backward_of_group<T: Scalar>(
    trie: &WordTrie,
    paths: &Paths<'_, T>,
    transform: &PathTransform,
    first: usize,
    grads: &[T],
    d_paths: &mut [T],
    ws: &mut CoefWorkspace<T>,
) {
    let row = paths.len() * paths.dim();
    let count = d_paths.len() / row.max(1);
    let group = Group::new(trie, paths, transform, first, count);
    simd_dispatch!(<'a, 'p, T: Scalar> |S| {
        group: Group<'a, 'p, T>,
        grads: &'a [T],
        d_paths: &'a mut [T],
        ws: &'a mut CoefWorkspace<T>,
    } -> () {
        backward_group::<S, T>(&group, grads, d_paths, ws)
    })
}

#[inline(always)]
fn backward_group<S: Simd, T: Scalar + Vectorize<S>>(
    group: &Group<'_, '_, T>,
    grads: &[T],
    d_paths: &mut [T],
    ws: &mut CoefWorkspace<T>,
) {
    let (trie, transform) = (group.trie, group.transform);
    let g = 2 * <T as Vectorize<S>>::LANES;
    d_paths.fill(T::ZERO);
    let steps = transform.increments(group.paths.len());
    if steps == 0 || group.count == 0 {
        return;
    }
    let (nodes, dim, outputs) = (trie.nodes(), trie.dim(), trie.outputs());
    let row = nodes * g;
    ws.grad_after.fill(T::ZERO);
    for lane in 0..group.count {
        let path_grads = &grads[(group.first + lane) * outputs..][..outputs];
        for (&gr, &node) in path_grads.iter().zip(trie.output_nodes()) {
            ws.grad_after[node * g + lane] += gr;
        }
    }
    ws.grad_after[..g].fill(T::ZERO); // the empty word's coefficient is constant
    let stretch = ws.stretch;
    let stretches = steps.div_ceil(stretch);
    let rows = group.rows();
    reset(&mut ws.values[..row], g);
    if stretches > 1 {
        for step in 0..steps {
            if step % stretch == 0 {
                let at = step / stretch * row;
                ws.checkpoints[at..at + row].copy_from_slice(&ws.values[..row]);
            }
            group.load::<S>(step, &rows, ws);
            segment::<S, T>(trie, &ws.scaled, &mut ws.values);
        }
    }
    let path_len = group.paths.len() * group.paths.dim();
    for s in (0..stretches).rev() {
        let (start, stop) = (s * stretch, ((s + 1) * stretch).min(steps));
        if stretches > 1 {
            ws.values[..row].copy_from_slice(&ws.checkpoints[s * row..(s + 1) * row]);
        }
        let dz_len = dim * g;
        for step in start..stop {
            let at = (step - start) * row;
            ws.states[at..at + row].copy_from_slice(&ws.values[..row]);
            group.load::<S>(step, &rows, ws);
            let at = (step - start) * dz_len;
            ws.increments[at..at + dz_len].copy_from_slice(&ws.z[..dz_len]);
            segment::<S, T>(trie, &ws.scaled, &mut ws.values);
        }
        for step in (start..stop).rev() {
            let at = (step - start) * dz_len;
            ws.z[..dz_len].copy_from_slice(&ws.increments[at..at + dz_len]);
            group.scale::<S>(ws);
            let at = (step - start) * row;
            ws.grad_before[..row].fill(T::ZERO);
            ws.d_scaled.fill(T::ZERO);
            segment_backward::<S, T>(
                trie,
                &ws.scaled,
                &ws.states[at..at + row],
                &ws.grad_after,
                &mut ws.grad_before,
                &mut ws.d_scaled,
                &mut ws.partial,
            );
            ws.d_z[..dim * g].fill(T::ZERO);
            for &(sc, c, m) in trie.scaled_used() {
                let inv = ws.reciprocals[m - 1];
                for lane in 0..g {
                    ws.d_z[c * g + lane] += ws.d_scaled[sc * g + lane] * inv;
                }
            }
            for lane in 0..group.count {
                for (c, dz) in ws.d_z_path.iter_mut().enumerate() {
                    *dz = ws.d_z[c * g + lane];
                }
                let d_path = &mut d_paths[lane * path_len..(lane + 1) * path_len];
                transform.scatter_increment_grad(&ws.d_z_path, step, d_path);
            }
            std::mem::swap(&mut ws.grad_after, &mut ws.grad_before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpointed_stretches_give_the_stored_gradient() {
        let (batch, len) = (3, 50);
        let data: Vec<f64> = (0..batch * len * 2)
            .map(|i| ((i * 37 % 23) as f64 - 11.0) / 17.0)
            .collect();
        let paths = Paths::new(&data, batch, len, 2).unwrap();
        let words: [&[usize]; 3] = [&[0, 1, 2], &[2, 1], &[1, 1, 0, 2]];
        let trie = WordTrie::new(3, &words, true).unwrap();
        let transform = PathTransform {
            time_aug: true,
            lead_lag: false,
            end_time: 1.0,
        };
        let grads: Vec<f64> = (0..batch * trie.outputs())
            .map(|j| 1.0 - 0.3 * j as f64)
            .collect();
        let gradient = |budget: usize| {
            let steps = transform.increments(len);
            let mut ws = CoefWorkspace::with_budget(&trie, steps, true, budget).unwrap();
            let mut d_paths = vec![f64::NAN; batch * len * 2];
            coefs_backward_of_group(&trie, &paths, &transform, 0, &grads, &mut d_paths, &mut ws);
            (d_paths, ws.stretch)
        };
        let (stored, one) = gradient(usize::MAX);
        let (checkpointed, stretch) = gradient(10);
        assert_eq!(one, len - 1);
        assert_eq!(stretch, 7);
        for (a, b) in stored.iter().zip(&checkpointed) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }
}

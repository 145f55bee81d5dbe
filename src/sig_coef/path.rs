//! Chosen signature coefficients of a group of paths, and their gradient, on a [`WordTrie`].
//!
//! A node's update is a chain of dependent multiply-adds, as long as the node is deep; one path
//! at a time, the processor waits on each. The paths of a group are therefore interleaved, one
//! per SIMD lane, two vectors per value (two independent chains in flight per node): every
//! value below is stored as `group` consecutive lanes, one per path.

use super::trie::WordTrie;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::sig::{PathRef, PathTransform, Paths};
use crate::simd::{Kernel, Simd, Vectorize, dispatch};

/// Above this many stored values (states of the trie along a path, times the lanes), the
/// backward pass keeps only checkpoints and recomputes each stretch between them.
const MAX_STORED_STATES: usize = 1 << 21;

/// The most paths a group can hold at any SIMD level (two vectors of at most 8 lanes).
const MAX_GROUP: usize = 16;

/// How many paths one group interleaves on this CPU: two vectors' worth.
pub(crate) fn group_width<T: Scalar>() -> usize {
    struct Width<T>(std::marker::PhantomData<T>);
    impl<T: Scalar> Kernel for Width<T> {
        type Elem = T;
        type Output = usize;
        #[inline(always)]
        fn run<S: Simd>(self) -> usize
        where
            T: Vectorize<S>,
        {
            2 * <T as Vectorize<S>>::LANES
        }
    }
    dispatch(Width::<T>(std::marker::PhantomData))
}

/// Per-thread scratch for a group of paths (sized for the widest group).
#[derive(Debug, Clone)]
pub(crate) struct CoefWorkspace<T> {
    /// The coefficient of every node, lane by lane (node 0, the empty word, is 1).
    values: Vec<T>,
    /// The current increment of each path, channel by channel.
    z: Vec<T>,
    /// `z[c] / m` at row `(m - 1)·d + c`, for the pairs the chains read.
    scaled: Vec<T>,
    /// `1 / m` at `m - 1`.
    reciprocals: Vec<T>,
    /// Backward: gradients with respect to the nodes after and before a step.
    grad_after: Vec<T>,
    grad_before: Vec<T>,
    /// Backward: gradients with respect to `scaled` and `z`.
    d_scaled: Vec<T>,
    d_z: Vec<T>,
    /// Backward: one path's increment gradient.
    d_z_path: Vec<T>,
    /// Backward: a chain's partial values `u_0 … u_{k-1}`.
    partial: Vec<T>,
    /// Backward: the node values before each step of the current stretch.
    states: Vec<T>,
    /// Backward: each step's increments in the current stretch (gathered once per stretch).
    increments: Vec<T>,
    /// Backward: the node values at the start of each stretch (empty when one stretch).
    checkpoints: Vec<T>,
    /// Steps per stretch.
    stretch: usize,
}

impl<T: Scalar> CoefWorkspace<T> {
    /// Scratch for the forward pass on `trie`, and for the backward pass too when `backward`,
    /// for paths of `steps` increments.
    pub(crate) fn new(trie: &WordTrie, steps: usize, backward: bool) -> Result<Self> {
        Self::with_budget(trie, steps, backward, MAX_STORED_STATES)
    }

    /// As [`Self::new`], storing at most about `max_stored` values before checkpointing.
    fn with_budget(
        trie: &WordTrie,
        steps: usize,
        backward: bool,
        max_stored: usize,
    ) -> Result<Self> {
        let what = "a sig_coef workspace";
        let g = MAX_GROUP;
        let row = trie.nodes() * g;
        let (depth, dim) = (trie.max_depth(), trie.dim());
        // Per step: the node values and the increments.
        let per_step = row + dim * g;
        let (stretch, checkpoints) = if !backward || steps == 0 {
            (steps.max(1), 0)
        } else if steps.saturating_mul(per_step) <= max_stored {
            (steps, 0)
        } else {
            // √steps stretches of √steps steps: memory O(√steps), one extra forward pass.
            let stretch = steps.isqrt().max(1);
            (stretch, steps.div_ceil(stretch) * row)
        };
        let stored = if backward && steps > 0 { stretch } else { 0 };
        let back = |n: usize| if backward { n } else { 0 };
        Ok(CoefWorkspace {
            values: try_zeroed(what, row)?,
            z: try_zeroed(what, dim * g)?,
            scaled: try_zeroed(what, depth * dim * g)?,
            reciprocals: (1..=depth).map(|m| T::from_f64(1.0 / m as f64)).collect(),
            grad_after: try_zeroed(what, back(row))?,
            grad_before: try_zeroed(what, back(row))?,
            d_scaled: try_zeroed(what, back(depth * dim * g))?,
            d_z: try_zeroed(what, back(dim * g))?,
            d_z_path: try_zeroed(what, back(dim))?,
            partial: try_zeroed(what, back(depth * g))?,
            states: try_zeroed(what, stored * row)?,
            increments: try_zeroed(what, stored * dim * g)?,
            checkpoints: try_zeroed(what, checkpoints)?,
            stretch,
        })
    }
}

/// Where channel `c` of increment `step` of the transformed path comes from: the constant time
/// step, or the difference of original channel `channel` between points `point` and
/// `point + 1`, or nothing (the transform holds that channel still). This is
/// [`PathTransform::increment`] one channel at a time: a trie reads few of a wide path's
/// channels, and each the same way for every lane.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ChannelIncrement {
    Time(f64),
    Still,
    Difference { point: usize, channel: usize },
}

#[inline(always)]
fn channel_increment(
    transform: &PathTransform,
    len: usize,
    dim: usize,
    step: usize,
    c: usize,
) -> ChannelIncrement {
    if transform.time_aug && c == transform.dim(dim) - 1 {
        let steps = transform.increments(len).max(1);
        return ChannelIncrement::Time(transform.end_time / steps as f64);
    }
    if !transform.lead_lag {
        return ChannelIncrement::Difference {
            point: step,
            channel: c,
        };
    }
    // Lead-lag: even steps move the lead channels (the second half), odd steps the lag ones.
    let lead = c >= dim;
    if lead == step.is_multiple_of(2) {
        let channel = if lead { c - dim } else { c };
        ChannelIncrement::Difference {
            point: step / 2,
            channel,
        }
    } else {
        ChannelIncrement::Still
    }
}

/// The paths `first .. first + count` of a batch, interleaved `group` to a vector pair (lanes
/// past `count` repeat the last path; their results are dropped).
struct Group<'a, 'p, T> {
    trie: &'a WordTrie,
    paths: &'a Paths<'p, T>,
    transform: &'a PathTransform,
    first: usize,
    count: usize,
    /// Each lane's path.
    lanes: [PathRef<'p, T>; MAX_GROUP],
}

/// Each lane's points as one row-major slice, when the batch is stored that way: the increments
/// are then read with one offset for all lanes.
type Rows<'r, T> = Option<[&'r [T]; MAX_GROUP]>;

impl<'a, 'p, T: Scalar> Group<'a, 'p, T> {
    fn new(
        trie: &'a WordTrie,
        paths: &'a Paths<'p, T>,
        transform: &'a PathTransform,
        first: usize,
        count: usize,
    ) -> Self {
        let lanes = std::array::from_fn(|lane| paths.path(first + lane.min(count - 1)));
        Group {
            trie,
            paths,
            transform,
            first,
            count,
            lanes,
        }
    }

    /// The lanes' [`Rows`], if every path is stored row-major.
    fn rows(&self) -> Rows<'_, T> {
        let all = self.lanes.iter().all(|p| p.row_major_from(0).is_some());
        all.then(|| std::array::from_fn(|l| self.lanes[l].row_major_from(0).unwrap_or(&[])))
    }

    /// Loads increment `step` of every lane's path (the channels the words read) into `z`, and
    /// the scaled letters.
    #[inline(always)]
    fn load<S: Simd>(&self, step: usize, rows: &Rows<'_, T>, ws: &mut CoefWorkspace<T>)
    where
        T: Vectorize<S>,
    {
        let g = 2 * <T as Vectorize<S>>::LANES;
        let (len, dim) = (self.paths.len(), self.paths.dim());
        for &c in self.trie.letters_used() {
            let z = &mut ws.z[c * g..(c + 1) * g];
            match channel_increment(self.transform, len, dim, step, c) {
                ChannelIncrement::Time(dt) => z.fill(T::from_f64(dt)),
                ChannelIncrement::Still => z.fill(T::ZERO),
                ChannelIncrement::Difference { point, channel } => match rows {
                    Some(rows) => {
                        let (here, next) = (point * dim + channel, (point + 1) * dim + channel);
                        for (zl, row) in z.iter_mut().zip(rows) {
                            *zl = row[next] - row[here];
                        }
                    }
                    None => {
                        for (zl, path) in z.iter_mut().zip(&self.lanes) {
                            *zl = path.at(point + 1, channel) - path.at(point, channel);
                        }
                    }
                },
            }
        }
        self.scale::<S>(ws);
    }

    /// The scaled letters of the increments in `z`.
    #[inline(always)]
    fn scale<S: Simd>(&self, ws: &mut CoefWorkspace<T>)
    where
        T: Vectorize<S>,
    {
        let g = 2 * <T as Vectorize<S>>::LANES;
        for &(s, c, m) in self.trie.scaled_used() {
            let inv = <T as Vectorize<S>>::splat(ws.reciprocals[m - 1]);
            for half in 0..2 {
                let at = half * <T as Vectorize<S>>::LANES;
                // SAFETY: rows `s` of `scaled` and `c` of `z` hold `g` lanes (sized by `new`).
                unsafe {
                    let zc = <T as Vectorize<S>>::load(ws.z.as_ptr().add(c * g + at));
                    <T as Vectorize<S>>::store(
                        ws.scaled.as_mut_ptr().add(s * g + at),
                        <T as Vectorize<S>>::mul(zc, inv),
                    );
                }
            }
        }
    }
}

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

/// Sets every lane's values to those of the empty path: 1 at the root, 0 elsewhere.
fn reset<T: Scalar>(values: &mut [T], g: usize) {
    values.fill(T::ZERO);
    values[..g].fill(T::ONE);
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
    struct Task<'a, 'p, T> {
        group: Group<'a, 'p, T>,
        out: &'a mut [T],
        ws: &'a mut CoefWorkspace<T>,
    }
    impl<T: Scalar> Kernel for Task<'_, '_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            let Task { group, out, ws } = self;
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
    }
    let count = out.len() / trie.outputs();
    let group = Group::new(trie, paths, transform, first, count);
    dispatch(Task { group, out, ws })
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
    struct Task<'a, 'p, T> {
        group: Group<'a, 'p, T>,
        grads: &'a [T],
        d_paths: &'a mut [T],
        ws: &'a mut CoefWorkspace<T>,
    }
    impl<T: Scalar> Kernel for Task<'_, '_, T> {
        type Elem = T;
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self)
        where
            T: Vectorize<S>,
        {
            let Task {
                group,
                grads,
                d_paths,
                ws,
            } = self;
            backward_group::<S, T>(&group, grads, d_paths, ws)
        }
    }
    let row = paths.len() * paths.dim();
    let count = d_paths.len() / row.max(1);
    let group = Group::new(trie, paths, transform, first, count);
    dispatch(Task {
        group,
        grads,
        d_paths,
        ws,
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
    fn channel_increments_are_those_of_the_transform() {
        let data: Vec<f64> = (0..5 * 3).map(|i| (i * i % 7) as f64 - 2.5).collect();
        let paths = Paths::new(&data, 1, 5, 3).unwrap();
        let path = paths.path(0);
        for (time_aug, lead_lag) in [(false, false), (true, false), (false, true), (true, true)] {
            let t = PathTransform {
                time_aug,
                lead_lag,
                end_time: 1.7,
            };
            let mut z = vec![0.0; t.dim(3)];
            for step in 0..t.increments(5) {
                t.increment(&path, step, &mut z);
                for (c, &zc) in z.iter().enumerate() {
                    let got = match channel_increment(&t, 5, 3, step, c) {
                        ChannelIncrement::Time(dt) => dt,
                        ChannelIncrement::Still => 0.0,
                        ChannelIncrement::Difference { point, channel } => {
                            path.at(point + 1, channel) - path.at(point, channel)
                        }
                    };
                    assert_eq!(got, zc, "{t:?} {step} {c}");
                }
            }
        }
    }

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

//! Paths interleaved one per SIMD lane: a group of paths, their increments (only the channels
//! the words read), and the scratch space of its passes.
//!
//! A node's update is a chain of dependent multiply-adds, as long as the node is deep; one path
//! at a time, the processor waits on each. The paths of a group are therefore interleaved, one
//! per SIMD lane, two vectors per value (two independent chains in flight per node): every
//! value here is stored as `group` consecutive lanes, one per path.

use super::trie::WordTrie;
use crate::error::{Result, try_zeroed};
use crate::path::{PathRef, PathTransform, Paths};
use crate::scalar::Scalar;
use crate::simd::{Simd, Vectorize, simd_dispatch};

/// Above this many stored values (states of the trie along a path, times the lanes), the
/// backward pass keeps only checkpoints and recomputes each stretch between them.
const MAX_STORED_STATES: usize = 1 << 21;

/// The most paths a group can hold at any SIMD level (two vectors of at most 8 lanes).
const MAX_GROUP: usize = 16;

/// How many paths one group interleaves on this CPU: two vectors' worth.
pub(crate) fn group_width<T: Scalar>() -> usize {
    simd_dispatch!(<T: Scalar> |S| {} -> usize { 2 * <T as Vectorize<S>>::LANES })
}

/// Per-thread scratch for a group of paths (sized for the widest group).
#[derive(Debug, Clone)]
pub(crate) struct CoefWorkspace<T> {
    /// The coefficient of every node, lane by lane (node 0, the empty word, is 1).
    pub(super) values: Vec<T>,
    /// The current increment of each path, channel by channel.
    pub(super) z: Vec<T>,
    /// `z[c] / m` at row `(m - 1)·d + c`, for the pairs the chains read.
    pub(super) scaled: Vec<T>,
    /// `1 / m` at `m - 1`.
    pub(super) reciprocals: Vec<T>,
    /// Backward: gradients with respect to the nodes after and before a step.
    pub(super) grad_after: Vec<T>,
    pub(super) grad_before: Vec<T>,
    /// Backward: gradients with respect to `scaled` and `z`.
    pub(super) d_scaled: Vec<T>,
    pub(super) d_z: Vec<T>,
    /// Backward: one path's increment gradient.
    pub(super) d_z_path: Vec<T>,
    /// Backward: a chain's partial values `u_0 … u_{k-1}`.
    pub(super) partial: Vec<T>,
    /// Backward: the node values before each step of the current stretch.
    pub(super) states: Vec<T>,
    /// Backward: each step's increments in the current stretch (gathered once per stretch).
    pub(super) increments: Vec<T>,
    /// Backward: the node values at the start of each stretch (empty when one stretch).
    pub(super) checkpoints: Vec<T>,
    /// Steps per stretch.
    pub(super) stretch: usize,
}

impl<T: Scalar> CoefWorkspace<T> {
    /// Scratch for the forward pass on `trie`, and for the backward pass too when `backward`,
    /// for paths of `steps` increments.
    pub(crate) fn new(trie: &WordTrie, steps: usize, backward: bool) -> Result<Self> {
        Self::with_budget(trie, steps, backward, MAX_STORED_STATES)
    }

    /// As [`Self::new`], storing at most about `max_stored` values before checkpointing.
    pub(super) fn with_budget(
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
pub(super) struct Group<'a, 'p, T> {
    pub(super) trie: &'a WordTrie,
    pub(super) paths: &'a Paths<'p, T>,
    pub(super) transform: &'a PathTransform,
    pub(super) first: usize,
    pub(super) count: usize,
    /// Each lane's path.
    pub(super) lanes: [PathRef<'p, T>; MAX_GROUP],
}

/// Each lane's points as one row-major slice, when the batch is stored that way: the increments
/// are then read with one offset for all lanes.
pub(super) type Rows<'r, T> = Option<[&'r [T]; MAX_GROUP]>;

impl<'a, 'p, T: Scalar> Group<'a, 'p, T> {
    pub(super) fn new(
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
    pub(super) fn rows(&self) -> Rows<'_, T> {
        let all = self.lanes.iter().all(|p| p.row_major_from(0).is_some());
        all.then(|| std::array::from_fn(|l| self.lanes[l].row_major_from(0).unwrap_or(&[])))
    }

    /// Loads increment `step` of every lane's path (the channels the words read) into `z`, and
    /// the scaled letters.
    #[inline(always)]
    pub(super) fn load<S: Simd>(&self, step: usize, rows: &Rows<'_, T>, ws: &mut CoefWorkspace<T>)
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
    pub(super) fn scale<S: Simd>(&self, ws: &mut CoefWorkspace<T>)
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

/// Sets every lane's values to those of the empty path: 1 at the root, 0 elsewhere.
pub(super) fn reset<T: Scalar>(values: &mut [T], g: usize) {
    values.fill(T::ZERO);
    values[..g].fill(T::ONE);
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
}

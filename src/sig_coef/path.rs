//! Chosen signature coefficients of one path, and their gradient, on a [`WordTrie`].

use super::trie::WordTrie;
use crate::error::{Result, try_zeroed};
use crate::scalar::Scalar;
use crate::sig::{PathRef, PathTransform};

/// Above this many stored values (states of the trie along a path), the backward pass keeps
/// only checkpoints and recomputes each stretch between them (8 MiB of `f32`, 16 of `f64`).
const MAX_STORED_STATES: usize = 1 << 21;

/// Per-thread scratch for the coefficients of one path and their gradient.
#[derive(Debug, Clone)]
pub(crate) struct CoefWorkspace<T> {
    /// The coefficient of every node (node 0, the empty word, is 1).
    values: Vec<T>,
    /// The current increment of the transformed path.
    z: Vec<T>,
    /// `z[c] / m` at `(m - 1)·d + c`, for the pairs the chains read.
    scaled: Vec<T>,
    /// `1 / m` at `m - 1` (a multiplication is cheaper than a division).
    reciprocals: Vec<T>,
    /// Backward: gradients with respect to the nodes after and before a step.
    grad_after: Vec<T>,
    grad_before: Vec<T>,
    /// Backward: gradients with respect to `scaled` and to `z`.
    d_scaled: Vec<T>,
    d_z: Vec<T>,
    /// Backward: a chain's partial values `u_0 … u_{k-1}`.
    partial: Vec<T>,
    /// Backward: the node values before each step of the current stretch, row by row.
    states: Vec<T>,
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

    /// As [`Self::new`], storing at most about `max_stored` states before checkpointing.
    fn with_budget(
        trie: &WordTrie,
        steps: usize,
        backward: bool,
        max_stored: usize,
    ) -> Result<Self> {
        let what = "a sig_coef workspace";
        let nodes = trie.nodes();
        let (stretch, stored, checkpoints) = if !backward || steps == 0 {
            (steps.max(1), 0, 0)
        } else if steps.saturating_mul(nodes) <= max_stored {
            (steps, steps * nodes, 0)
        } else {
            // √steps stretches of √steps steps: memory O(√steps · nodes), one extra forward pass.
            let stretch = steps.isqrt().max(1);
            let count = steps.div_ceil(stretch);
            (stretch, stretch * nodes, count * nodes)
        };
        let grad = if backward { nodes } else { 0 };
        Ok(CoefWorkspace {
            values: try_zeroed(what, nodes)?,
            z: try_zeroed(what, trie.dim())?,
            scaled: try_zeroed(what, trie.max_depth() * trie.dim())?,
            reciprocals: (1..=trie.max_depth())
                .map(|m| T::from_f64(1.0 / m as f64))
                .collect(),
            grad_after: try_zeroed(what, grad)?,
            grad_before: try_zeroed(what, grad)?,
            d_scaled: try_zeroed(
                what,
                if backward {
                    trie.max_depth() * trie.dim()
                } else {
                    0
                },
            )?,
            d_z: try_zeroed(what, if backward { trie.dim() } else { 0 })?,
            partial: try_zeroed(what, if backward { trie.max_depth() } else { 0 })?,
            states: try_zeroed(what, stored)?,
            checkpoints: try_zeroed(what, checkpoints)?,
            stretch,
        })
    }

    /// Loads increment `step` of the transformed path into `z` and the scaled letters.
    #[inline(always)]
    fn load_increment(
        &mut self,
        trie: &WordTrie,
        path: &PathRef<'_, T>,
        transform: &PathTransform,
        step: usize,
    ) {
        transform.increment(path, step, &mut self.z);
        for &(s, c, m) in trie.scaled_used() {
            self.scaled[s] = self.z[c] * self.reciprocals[m - 1];
        }
    }
}

/// The trie's node values after a linear segment: every chain read from the old values, deepest
/// nodes first so that the update is in place.
#[inline(always)]
fn segment<T: Scalar>(trie: &WordTrie, scaled: &[T], values: &mut [T]) {
    for (node, chain) in trie.chains() {
        let mut u = T::ONE;
        for link in chain {
            u = values[link.node] + scaled[link.scaled] * u;
        }
        values[node] = u;
    }
}

/// The adjoint of [`segment`] given the values before it (`before`): adds to `grad_before` and
/// `d_scaled` the gradients of `Σ grad_after · values_after` with respect to `before` and to the
/// scaled letters.
#[inline(always)]
fn segment_backward<T: Scalar>(
    trie: &WordTrie,
    scaled: &[T],
    before: &[T],
    grad_after: &[T],
    grad_before: &mut [T],
    d_scaled: &mut [T],
    partial: &mut [T],
) {
    for (node, chain) in trie.chains() {
        let g = grad_after[node];
        if g == T::ZERO {
            continue;
        }
        // u_r = before[a_r] + scaled_r · u_{r-1}, u_0 = 1: keep u_0 … u_{k-1}.
        let mut u = T::ONE;
        for (link, slot) in chain.iter().zip(partial.iter_mut()) {
            *slot = u;
            u = before[link.node] + scaled[link.scaled] * u;
        }
        let mut g = g;
        for (link, &u_prev) in chain.iter().zip(partial.iter()).rev() {
            grad_before[link.node] += g;
            d_scaled[link.scaled] += g * u_prev;
            g *= scaled[link.scaled];
        }
    }
}

/// Writes into `out` the coefficients of the trie's outputs for the transformed `path`.
pub(crate) fn coefs_of_path<T: Scalar>(
    trie: &WordTrie,
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    out: &mut [T],
    ws: &mut CoefWorkspace<T>,
) {
    ws.values.fill(T::ZERO);
    ws.values[0] = T::ONE;
    for step in 0..transform.increments(path.len()) {
        ws.load_increment(trie, path, transform, step);
        segment(trie, &ws.scaled, &mut ws.values);
    }
    for (o, &node) in out.iter_mut().zip(trie.output_nodes()) {
        *o = ws.values[node];
    }
}

/// Writes into `d_path` (row-major `len × dim`) the gradient of `Σ_j grads[j] · c_j` with respect
/// to `path`, `c_j` being the coefficient of output `j` of the trie.
///
/// The node values before each step are recomputed by a forward pass (in stretches between
/// checkpoints for long paths), never recovered by walking back, so the gradient's round-off
/// does not grow with the path's length.
pub(crate) fn coefs_backward_of_path<T: Scalar>(
    trie: &WordTrie,
    path: &PathRef<'_, T>,
    transform: &PathTransform,
    grads: &[T],
    d_path: &mut [T],
    ws: &mut CoefWorkspace<T>,
) {
    d_path.fill(T::ZERO);
    let steps = transform.increments(path.len());
    if steps == 0 {
        return;
    }
    let nodes = trie.nodes();
    ws.grad_after.fill(T::ZERO);
    for (&g, &node) in grads.iter().zip(trie.output_nodes()) {
        ws.grad_after[node] += g;
    }
    ws.grad_after[0] = T::ZERO; // the empty word's coefficient is constant
    let stretch = ws.stretch;
    let stretches = steps.div_ceil(stretch);
    ws.values.fill(T::ZERO);
    ws.values[0] = T::ONE;
    if stretches > 1 {
        for step in 0..steps {
            if step % stretch == 0 {
                let at = step / stretch * nodes;
                ws.checkpoints[at..at + nodes].copy_from_slice(&ws.values);
            }
            ws.load_increment(trie, path, transform, step);
            segment(trie, &ws.scaled, &mut ws.values);
        }
    }
    for s in (0..stretches).rev() {
        let first = s * stretch;
        let last = (first + stretch).min(steps);
        if stretches > 1 {
            ws.values
                .copy_from_slice(&ws.checkpoints[s * nodes..(s + 1) * nodes]);
        }
        for step in first..last {
            let row = (step - first) * nodes;
            ws.states[row..row + nodes].copy_from_slice(&ws.values);
            ws.load_increment(trie, path, transform, step);
            segment(trie, &ws.scaled, &mut ws.values);
        }
        for step in (first..last).rev() {
            ws.load_increment(trie, path, transform, step);
            let row = (step - first) * nodes;
            ws.grad_before.fill(T::ZERO);
            ws.d_scaled.fill(T::ZERO);
            segment_backward(
                trie,
                &ws.scaled,
                &ws.states[row..row + nodes],
                &ws.grad_after,
                &mut ws.grad_before,
                &mut ws.d_scaled,
                &mut ws.partial,
            );
            ws.d_z.fill(T::ZERO);
            for &(s, c, m) in trie.scaled_used() {
                ws.d_z[c] += ws.d_scaled[s] * ws.reciprocals[m - 1];
            }
            transform.scatter_increment_grad(&ws.d_z, step, d_path);
            std::mem::swap(&mut ws.grad_after, &mut ws.grad_before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::Paths;

    #[test]
    fn checkpointed_stretches_give_the_stored_gradient() {
        let len = 50;
        let data: Vec<f64> = (0..len * 2)
            .map(|i| ((i * 37 % 23) as f64 - 11.0) / 17.0)
            .collect();
        let paths = Paths::new(&data, 1, len, 2).unwrap();
        let words: [&[usize]; 3] = [&[0, 1, 2], &[2, 1], &[1, 1, 0, 2]];
        let trie = WordTrie::new(3, &words, true).unwrap();
        let transform = PathTransform {
            time_aug: true,
            lead_lag: false,
            end_time: 1.0,
        };
        let grads: Vec<f64> = (0..trie.outputs()).map(|j| 1.0 - 0.3 * j as f64).collect();
        let gradient = |budget: usize| {
            let steps = transform.increments(len);
            let mut ws = CoefWorkspace::with_budget(&trie, steps, true, budget).unwrap();
            let mut d_path = vec![0.0; len * 2];
            coefs_backward_of_path(
                &trie,
                &paths.path(0),
                &transform,
                &grads,
                &mut d_path,
                &mut ws,
            );
            (d_path, ws.stretch)
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

//! Chosen signature coefficients straight from the path, without the truncated signature, and
//! their gradients.
//!
//! The coefficient of a word `w = (l_1 … l_k)` is the iterated integral
//! `S^w = ∫_{t_1<…<t_k} dx^{l_1}_{t_1} … dx^{l_k}_{t_k}`. Across a linear segment with
//! increment `z`, Chen's identity `S ⊗ exp(z)` read at `w` involves only the coefficients of
//! `w`'s prefixes, so the requested words and their prefixes — a [`WordTrie`] — are all that is
//! carried along the path: a node of depth `k` costs `k` multiply-adds per segment, a step costs
//! [`WordTrie::chain_len`] of them, whatever the words' length (no degree cap). Paths are
//! processed in groups, one per SIMD lane, so that the chains' dependent multiply-adds overlap.

mod passes;
mod path_groups;
mod trie;

pub use trie::WordTrie;

use crate::batch_rows::for_each_chunk;
use crate::cpu::Threads;
use crate::error::{Error, Result, check_len};
use crate::path::{PathTransform, Paths};
use crate::scalar::Scalar;
use passes::{coefs_backward_of_group, coefs_of_group};
use path_groups::{CoefWorkspace, group_width};

fn check_letters<T: Copy>(
    paths: &Paths<'_, T>,
    words: &WordTrie,
    transform: &PathTransform,
) -> Result<()> {
    if paths.dim() == 0 {
        return Err(Error::invalid(
            "path",
            "has 0 channels (dimension); a path needs at least one",
        ));
    }
    let dim = transform.dim(paths.dim());
    if words.dim() != dim {
        return Err(Error::invalid(
            "words",
            format!(
                "were built for {} letters, but the path has {dim} channels after the transforms",
                words.dim()
            ),
        ));
    }
    Ok(())
}

/// Writes into `out` (row-major `batch × words.outputs()`) the coefficients of `words` for
/// each path of `paths` under `transform` (letters index the transformed path's channels).
///
/// ```
/// use tensorsig::{PathTransform, Paths, Threads, WordTrie};
/// // (0,0) → (1,0) → (1,1): S^(0,1) = 1 (the area term), S^(1,0) = 0, S^() = 1.
/// let path = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
/// let words = WordTrie::new(2, &[&[0, 1], &[1, 0], &[]], false)?;
/// let mut out = [0.0; 3];
/// tensorsig::sig_coef(&Paths::new(&path, 1, 3, 2)?, &words, &PathTransform::default(), Threads::SERIAL, &mut out)?;
/// assert_eq!(out, [1.0, 0.0, 1.0]);
/// # Ok::<(), tensorsig::Error>(())
/// ```
pub fn sig_coef<T: Scalar>(
    paths: &Paths<'_, T>,
    words: &WordTrie,
    transform: &PathTransform,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    check_letters(paths, words, transform)?;
    let row = words.outputs();
    check_len("out", out, paths.batch() * row)?;
    let steps = transform.increments(paths.len());
    let group = group_width::<T>();
    for_each_chunk(
        threads,
        out,
        group * row,
        || CoefWorkspace::new(words, steps, false),
        |c, out, ws| coefs_of_group(words, paths, transform, c * group, out, ws),
    )
}

/// Writes into `out` (row-major `batch × len × dim`, like `paths`) the gradient of
/// `Σ_b Σ_j grads[b, j] · c_{b, j}` with respect to the paths, `c_{b, j}` being output `j` of
/// [`sig_coef`] for path `b` (`grads` is row-major `batch × words.outputs()`).
///
/// The coefficients along each path are recomputed forward (for paths longer than a memory
/// budget, in √length stretches between checkpoints, at the cost of one more forward pass) and
/// the gradient pushed back through each segment's update (each chain's adjoint costs about
/// three times the chain): about seven forward passes' time in all, with round-off that does not
/// grow with the path's length. `grads` is not modified.
pub fn sig_coef_backprop<T: Scalar>(
    paths: &Paths<'_, T>,
    words: &WordTrie,
    grads: &[T],
    transform: &PathTransform,
    threads: Threads,
    out: &mut [T],
) -> Result<()> {
    check_letters(paths, words, transform)?;
    check_len("derivs", grads, paths.batch() * words.outputs())?;
    let row = paths.len() * paths.dim();
    check_len("out", out, paths.batch() * row)?;
    let steps = transform.increments(paths.len());
    let group = group_width::<T>();
    for_each_chunk(
        threads,
        out,
        group * row,
        || CoefWorkspace::new(words, steps, true),
        |c, d_paths, ws| {
            coefs_backward_of_group(words, paths, transform, c * group, grads, d_paths, ws);
        },
    )
}

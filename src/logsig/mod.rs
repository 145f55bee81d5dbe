//! Log-signatures, one signature (or one pair) at a time: the conversions between a signature and
//! its logarithm in pysiglib's three coordinate systems, the Baker–Campbell–Hausdorff product of
//! two log-signatures and the join of a straight segment, with their backward passes. Batches and
//! threads are the batched functions' business ([`crate::log_sig()`] and the rest).
//!
//! A log-signature `log S` lives in the free Lie algebra, truncated at degree `N`. Its
//! coordinates ([`LogSigMethod`]):
//! - **expanded** (method 0): every coefficient of the tensor `log S`, in the signature's layout;
//! - **Lyndon words** (method 1): the coefficients of `log S` at the Lyndon words, a slice of the
//!   expanded form (signatory's `"words"`);
//! - **Lyndon brackets** (methods 2 and 3): the coordinates `c` of `log S = Σ_w c_w P(w)` in the
//!   basis of standard bracketings of Lyndon words (iisignature's `'S'`, signatory's
//!   `"brackets"`). They solve a sparse unitriangular system from the Lyndon-word coefficients
//!   ([`crate::algebra::LyndonBasis`]).
//!
//! At degree 2, log-signatures of paths skip the signature altogether: the Lévy areas are a
//! product of the steps' midpoints and increments, computed in register tiles (see
//! `degree_two.rs`), at half the multiply-adds of the signature's level 2.
//!
//! Methods 1 and 2 never form the top level of `log S` in full: its coefficient at a Lyndon word
//! `v` of length `k` is `x_v + Σ_{0<j<k} x_{v[..j]} · q_{v[j..]}` with `x = S − 1` and `q` the
//! inner Horner term of the logarithm (see [`crate::algebra::log`]), about `d^N` multiply-adds in
//! all instead of `N·d^N`.
//!
//! **Method 3.** pysiglib computes it by sequential BCH in the Lie algebra, folding one increment
//! at a time into the log-signature without forming the signature, and it is about three times
//! slower than its own method 2 (measured: 64 paths of 1000 points, `d = 3`, `N = 4`). Each BCH
//! step costs at least what a fused multiply-exponentiate step of the signature costs (the same
//! tensor-level products, plus a logarithm), and is no more exact. tensorsig computes method 3 as
//! method 2: the signatures of a chunk of paths by the signature engine into a buffer the size of
//! that chunk (never a batch of signatures), each converted into its row of the output as soon as
//! it is done. The numbers are method 2's, as pysiglib promises, at method 2's speed, in memory
//! bounded by the chunk rather than the batch.

mod bch;
mod convert;
mod degree_two;
mod persist;

pub use bch::{
    log_sig_combine_row, log_sig_combine_row_backward, log_sig_join_row, log_sig_join_row_backward,
};
pub use convert::{
    LogSigWorkspace, log_sig_to_sig_row, log_sig_to_sig_row_backward, sig_to_log_sig_row,
    sig_to_log_sig_row_backward,
};
pub(crate) use degree_two::{DegreeTwoWorkspace, log_sig_degree_two};
pub use persist::{decode_basis, encode_basis};

use crate::error::{Error, Result};

/// The coordinates a log-signature is written in (pysiglib's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogSigMethod {
    /// 0: the expanded tensor logarithm, in the signature's layout.
    Expanded,
    /// 1: the tensor logarithm's coefficients at the Lyndon words.
    LyndonWords,
    /// 2: coordinates in the Lyndon bracket basis.
    LyndonBrackets,
    /// 3: the Lyndon bracket coordinates, from paths only (computed as method 2: see the module
    /// documentation).
    Bch,
}

impl LogSigMethod {
    /// pysiglib's method number `0..=3`, or [`Error::InvalidArgument`].
    pub fn from_index(method: i64) -> Result<Self> {
        match method {
            0 => Ok(LogSigMethod::Expanded),
            1 => Ok(LogSigMethod::LyndonWords),
            2 => Ok(LogSigMethod::LyndonBrackets),
            3 => Ok(LogSigMethod::Bch),
            m => Err(Error::invalid(
                "method",
                format!("must be one of 0, 1, 2 or 3, got {m}"),
            )),
        }
    }

    /// The method number.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the coordinates are indexed by Lyndon words (methods 1-3), and so need the
    /// [`crate::algebra::LyndonBasis`].
    pub fn uses_lyndon_words(self) -> bool {
        self != LogSigMethod::Expanded
    }

    /// The coordinates of a conversion from or to a signature: method 3 only exists from paths,
    /// so it is an error here (as in pysiglib).
    pub(crate) fn for_conversion(self, function: &str) -> Result<Self> {
        if self == LogSigMethod::Bch {
            return Err(Error::invalid(
                "method",
                format!(
                    "method=3 (BCH from the path) is not supported by {function}; use 2, which has the same coordinates"
                ),
            ));
        }
        Ok(self)
    }
}

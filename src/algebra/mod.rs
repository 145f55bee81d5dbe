//! The truncated tensor algebra on flat slices: layout, Chen product, fused multiply-exponentiate
//! and their backward passes, word reversal, the tensor logarithm and exponential, and the Lyndon
//! bracket basis of the free Lie algebra. Everything here works on one tensor at a time;
//! batching and threads are the batched functions' business ([`crate::sig()`] and the rest).

pub(crate) mod interleaved;
mod layout;
mod log_exp;
mod lyndon;
mod lyndon_coordinates;
mod mul_exp;
mod product;
pub(crate) mod rank_one;
mod reverse;

pub use layout::Layout;
pub(crate) use layout::Levels;
pub use log_exp::{LogExpWorkspace, exp, exp_backward, log, log_backward};
pub use lyndon::{LyndonBasis, lyndon_count};
pub use mul_exp::{MulExpWorkspace, exp_mul, exp_mul_backward, mul_exp, mul_exp_backward};
pub(crate) use mul_exp::{
    exp_into, exp_mul_backward_given_input, exp_mul_backward_with, exp_mul_steps_with,
};
pub use product::{product, product_backward};
pub(crate) use rank_one::FUSED_STEPS;
pub use reverse::reverse_words;

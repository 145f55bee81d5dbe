//! The truncated tensor algebra on flat slices: layout, Chen product, fused multiply-exponentiate
//! and their backward passes. Everything here works on one tensor at a time; batching and
//! threads live in [`crate::cpu`].

pub(crate) mod kernels;
mod layout;
mod mul_exp;
mod product;

pub use layout::Layout;
pub use mul_exp::{MulExpWorkspace, mul_exp, mul_exp_backward};
pub use product::{product, product_backward};

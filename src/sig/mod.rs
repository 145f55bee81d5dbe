//! Paths and their signatures, one path at a time: strided path views, the time-augmentation and
//! lead-lag transforms applied to increments on the fly, and the signature's forward and backward
//! passes. Batches and threads are the batched functions' business ([`crate::sig()`] and the rest).

mod backward;
mod forward;
pub(crate) mod lanes;
mod paths;
mod transform;

pub use backward::{SigBackwardWorkspace, signature_backward_of_path};
pub use forward::{SigWorkspace, signature_of_path};
pub use paths::{PathRef, Paths};
pub use transform::PathTransform;

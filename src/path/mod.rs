//! Paths and their signatures, one path at a time: strided (and possibly ragged) path views, the
//! time-augmentation and lead-lag transforms applied to increments on the fly, corrected
//! increments, and the signature's forward and backward passes (of the whole path or of every
//! prefix). Batches and threads are the batched functions' business ([`crate::sig()`] and the
//! rest).

mod backward;
mod correction;
mod forward;
pub(crate) mod lane_groups;
mod params;
mod paths;
mod transform;

pub use backward::{SigBackwardWorkspace, signature_backward_of_path};
pub(crate) use backward::{SigGradient, signature_backward_of_path_with};
pub(crate) use correction::PathCorrection;
pub use correction::{Correction, CorrectionRows};
pub(crate) use forward::{SigOutput, signature_of_path_with};
pub use forward::{SigWorkspace, signature_of_path};
pub use params::SigParams;
pub use paths::{PathRef, Paths};
pub use transform::PathTransform;

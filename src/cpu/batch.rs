//! Running one computation per batch item, serially or across a pool, with one workspace per
//! worker.

use rayon::prelude::*;

use super::threads::Threads;
use crate::error::Result;

/// Calls `work(i, rows_i, workspace)` for every batch item `i`, where `rows_i` holds item `i`'s
/// rows of each output (the `R` rows of length `row_lens[r]` in `outputs[r]`).
///
/// Each worker makes its workspace once with `workspace` and reuses it across items.
pub(crate) fn for_each_item<T, W, const R: usize>(
    threads: Threads,
    batch: usize,
    outputs: [&mut [T]; R],
    row_lens: [usize; R],
    workspace: impl Fn() -> Result<W> + Sync,
    work: impl Fn(usize, [&mut [T]; R], &mut W) + Sync,
) -> Result<()>
where
    T: Send,
{
    if batch == 0 {
        return Ok(());
    }
    // A zero-length row still gets a (empty) slice; chunking by zero would panic.
    fn rows<T>(out: &mut [T], len: usize, batch: usize) -> Vec<&mut [T]> {
        if len == 0 {
            (0..batch).map(|_| <&mut [T]>::default()).collect()
        } else {
            out.chunks_exact_mut(len).collect()
        }
    }
    let mut per_output: Vec<std::vec::IntoIter<&mut [T]>> = outputs
        .into_iter()
        .zip(row_lens)
        .map(|(out, len)| rows(out, len, batch).into_iter())
        .collect();
    let items: Vec<[&mut [T]; R]> = (0..batch)
        .map(|_| {
            std::array::from_fn(|r| per_output[r].next().expect("row count checked by caller"))
        })
        .collect();

    if threads.count() == 1 || batch == 1 {
        let mut ws = workspace()?;
        for (i, item) in items.into_iter().enumerate() {
            work(i, item, &mut ws);
        }
        return Ok(());
    }
    threads.install(|| {
        items
            .into_par_iter()
            .enumerate()
            .try_for_each_init(&workspace, |ws, (i, item)| {
                let ws = ws.as_mut().map_err(|e| e.clone())?;
                work(i, item, ws);
                Ok(())
            })
    })?
}

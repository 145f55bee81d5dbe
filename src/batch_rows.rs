//! One computation per batch item, serially or across a pool, each item writing its own rows of
//! the outputs and each worker reusing one workspace.

use rayon::prelude::*;

use crate::cpu::Threads;
use crate::error::Result;

/// Calls `work(i, rows_i, workspace)` for every item `i < batch`, where `rows_i[r]` is item
/// `i`'s row of `outputs[r]` (rows of `row_lens[r]` values; the caller checked that each output
/// holds `batch` of them). Each worker makes its workspace once with `workspace`.
pub(crate) fn for_each_row<T, W, const R: usize>(
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
    let mut per_output = outputs.into_iter().zip(row_lens).map(|(out, len)| {
        // A zero-length row still gets an (empty) slice; chunking by zero would panic.
        let rows: Vec<&mut [T]> = if len == 0 {
            (0..batch).map(|_| <&mut [T]>::default()).collect()
        } else {
            out.chunks_exact_mut(len).take(batch).collect()
        };
        rows.into_iter()
    });
    let mut columns: [std::vec::IntoIter<&mut [T]>; R] =
        std::array::from_fn(|_| per_output.next().expect("one iterator per output"));
    let items: Vec<[&mut [T]; R]> = (0..batch)
        .map(|_| std::array::from_fn(|r| columns[r].next().expect("row count checked by caller")))
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

/// The number of rows of `row` values in `buf` (named `name` in errors), or an error when `buf`
/// is not a whole number of rows.
pub(crate) fn rows_in<T>(buf: &[T], row: usize, name: &'static str) -> Result<usize> {
    if row == 0 {
        return Ok(0);
    }
    if !buf.len().is_multiple_of(row) {
        return Err(crate::Error::Shape {
            name,
            expected: buf.len().div_ceil(row) * row,
            got: buf.len(),
        });
    }
    Ok(buf.len() / row)
}

/// Calls `work(c, chunk_c, workspace)` for consecutive chunks of `chunk_len` values of `out`
/// (the last one shorter when `out.len()` is not a multiple), spreading chunks over `threads`.
pub(crate) fn for_each_chunk<T, W>(
    threads: Threads,
    out: &mut [T],
    chunk_len: usize,
    workspace: impl Fn() -> Result<W> + Sync,
    work: impl Fn(usize, &mut [T], &mut W) + Sync,
) -> Result<()>
where
    T: Send,
{
    if out.is_empty() || chunk_len == 0 {
        return Ok(());
    }
    if threads.count() == 1 || out.len() <= chunk_len {
        let mut ws = workspace()?;
        for (c, chunk) in out.chunks_mut(chunk_len).enumerate() {
            work(c, chunk, &mut ws);
        }
        return Ok(());
    }
    threads.install(|| {
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .try_for_each_init(&workspace, |ws, (c, chunk)| {
                let ws = ws.as_mut().map_err(|e| e.clone())?;
                work(c, chunk, ws);
                Ok(())
            })
    })?
}

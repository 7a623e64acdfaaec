//! Reading a whole clip once to learn something about it that no header
//! says: which frames only repeat the one before.

use crate::error::Result;
use crate::interp::repeats;
use crate::media::MediaReader;
use crate::runtime::Runtime;

/// For each frame of `reader`, whether it repeats the one before (see
/// [`repeats::is_repeat`]); decodes every frame once, in order, and calls
/// `progress(done, total)` as it goes.
pub fn repeated_frames(
    runtime: &Runtime,
    reader: &mut MediaReader,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<bool>> {
    let count = reader.info().frame_count;
    let mut repeated = vec![false; count as usize];
    let mut previous = reader.read_frame(0)?;
    progress(1, count);
    for k in 1..count {
        let frame = reader.read_frame(k)?;
        repeated[k as usize] = runtime.install(|| repeats::is_repeat(&previous.view(), &frame.view()));
        previous = frame;
        progress(k + 1, count);
    }
    Ok(repeated)
}

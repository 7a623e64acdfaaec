//! Motion vectors as OpenEXR files that compositors can reuse.
//!
//! One file per source frame holds the frame itself (`R`, `G`, `B`, `A`) and
//! Fusion's auxiliary channels: `VectorX`/`VectorY`, the flow to the next
//! frame, and `BackVectorX`/`BackVectorY`, the flow to the previous frame, as
//! unnormalised pixel shifts; the first frame's back vector and the last
//! frame's vector are zero, as Fusion expects. Fusion's image y axis points
//! up, so the y components are negated from Mattebox's (y down). `Occlusion`
//! is 1 where a pixel is hidden in the next frame.

use std::path::Path;

use exr::image::{AnyChannel, AnyChannels, Encoding, FlatSamples, Image, Layer};
use exr::meta::header::LayerAttributes;
use exr::prelude::{SmallVec, WritableImage};

use super::Flow;
use crate::error::{Error, Result};
use crate::frame::FrameView;
use crate::staged::StagedFile;

/// Channel names written, in file order after R, G, B, A.
pub const CHANNELS: [&str; 5] = ["VectorX", "VectorY", "BackVectorX", "BackVectorY", "Occlusion"];

/// The vectors of one source frame at full resolution.
#[derive(Debug)]
pub struct FrameVectors<'a> {
    /// Flow to the next frame; `None` for the last frame.
    pub forward: Option<&'a Flow>,
    /// Flow to the previous frame; `None` for the first frame.
    pub backward: Option<&'a Flow>,
    /// 1 where a pixel is hidden in the next frame; `None` means all visible.
    pub occlusion: Option<&'a [f32]>,
}

/// Writes `frame` and its vectors to `path` (staged: it appears complete or not at all).
pub fn write(path: &Path, frame: &FrameView<'_>, vectors: &FrameVectors<'_>, overwrite: bool) -> Result<()> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    for flow in [vectors.forward, vectors.backward].into_iter().flatten() {
        if (flow.width(), flow.height()) != (w, h) {
            return Err(Error::invalid_argument(format!(
                "vectors are {}x{} but the frame is {w}x{h}",
                flow.width(),
                flow.height()
            )));
        }
    }
    let mut rgba = [vec![0.0f32; w * h], vec![0.0f32; w * h], vec![0.0f32; w * h], vec![0.0f32; w * h]];
    let mut row = vec![0.0f32; w * 4];
    for y in 0..h {
        frame.read_row_f32(y as u32, &mut row);
        for x in 0..w {
            for (c, plane) in rgba.iter_mut().enumerate() {
                plane[y * w + x] = row[x * 4 + c];
            }
        }
    }
    let component = |flow: Option<&Flow>, vertical: bool| -> Vec<f32> {
        match flow {
            Some(f) if vertical => f.v().iter().map(|v| -v).collect(),
            Some(f) => f.u().to_vec(),
            None => vec![0.0; w * h],
        }
    };
    let occlusion = vectors.occlusion.map(|o| o.to_vec()).unwrap_or_else(|| vec![0.0; w * h]);
    let [r, g, b, a] = rgba;
    let mut list: SmallVec<[AnyChannel<FlatSamples>; 4]> = SmallVec::new();
    for (name, data) in [
        ("R", r),
        ("G", g),
        ("B", b),
        ("A", a),
        (CHANNELS[0], component(vectors.forward, false)),
        (CHANNELS[1], component(vectors.forward, true)),
        (CHANNELS[2], component(vectors.backward, false)),
        (CHANNELS[3], component(vectors.backward, true)),
        (CHANNELS[4], occlusion),
    ] {
        list.push(AnyChannel::new(name, FlatSamples::F32(data)));
    }
    let layer = Layer::new((w, h), LayerAttributes::default(), Encoding::SMALL_LOSSLESS, AnyChannels::sort(list));
    let staged = StagedFile::new(path, overwrite)?;
    Image::from_layer(layer)
        .write()
        .to_file(staged.temp_path())
        .map_err(|e| Error::media(format!("{}: cannot write motion vectors: {e}", path.display())))?;
    staged.commit()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, PixelFormat};
    use exr::prelude::{ReadChannels, ReadLayers};

    fn flow(w: usize, h: usize, u: f32, v: f32) -> Flow {
        let mut f = Flow::zeros(w, h).unwrap();
        f.u.iter_mut().for_each(|x| *x = u);
        f.v.iter_mut().for_each(|x| *x = v);
        f
    }

    #[test]
    fn writes_fusion_channels_with_y_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.exr");
        let mut frame = Frame::new(6, 4, PixelFormat::Rgba8).unwrap();
        frame.view_mut().fill([1.0, 0.5, 0.0, 1.0]);
        let (fwd, bwd) = (flow(6, 4, 3.0, 2.0), flow(6, 4, -3.0, -2.0));
        let occlusion = vec![0.25; 24];
        let vectors = FrameVectors { forward: Some(&fwd), backward: Some(&bwd), occlusion: Some(&occlusion) };
        write(&path, &frame.view(), &vectors, false).unwrap();

        let image = exr::prelude::read()
            .no_deep_data()
            .largest_resolution_level()
            .all_channels()
            .first_valid_layer()
            .all_attributes()
            .from_file(&path)
            .unwrap();
        let channels = &image.layer_data.channel_data.list;
        let value = |name: &str| -> f32 {
            let channel = channels.iter().find(|c| c.name.to_string() == name).unwrap_or_else(|| panic!("{name}"));
            match &channel.sample_data {
                exr::prelude::FlatSamples::F32(v) => v[7],
                other => panic!("{name}: {other:?}"),
            }
        };
        assert_eq!(value("VectorX"), 3.0);
        assert_eq!(value("VectorY"), -2.0, "Fusion's y points up");
        assert_eq!(value("BackVectorX"), -3.0);
        assert_eq!(value("BackVectorY"), 2.0);
        assert_eq!(value("Occlusion"), 0.25);
        assert_eq!((value("R"), value("G"), value("B"), value("A")), (1.0, 128.0 / 255.0, 0.0, 1.0));

        // The first frame has no previous one: its back vector is zero.
        let first = FrameVectors { forward: Some(&fwd), backward: None, occlusion: None };
        write(&path, &frame.view(), &first, true).unwrap();
        assert!(write(&path, &frame.view(), &first, false).is_err(), "no overwrite without asking");
        let wrong = flow(3, 3, 0.0, 0.0);
        let err = write(
            &dir.path().join("w.exr"),
            &frame.view(),
            &FrameVectors { forward: Some(&wrong), backward: None, occlusion: None },
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("3x3"), "{err}");
    }
}

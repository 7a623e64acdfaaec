//! How a frame is looked at: which pixels are the subject and which the
//! background, and (with the model backend) where the face is and what an
//! embedding model makes of it. The default backend uses fixed regions;
//! the model backend asks the ONNX models.

use super::FrameLook;
use super::appearance::{PixelTable, Region};
use crate::error::Result;
use crate::frame::Frame;

#[cfg(feature = "onnx")]
use super::models::ModelBackend;

/// The backend frames are described with (shots and their references must
/// use the same one).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lens<'a> {
    #[cfg(feature = "onnx")]
    pub(crate) models: Option<&'a ModelBackend>,
    #[cfg(not(feature = "onnx"))]
    pub(crate) _default_only: std::marker::PhantomData<&'a ()>,
}

impl Lens<'_> {
    /// Describes the analysis copy `small` (whose per-pixel values are in `table`).
    pub(crate) fn look(&self, table: &PixelTable, small: &Frame) -> Result<FrameLook> {
        #[cfg(feature = "onnx")]
        if let Some(models) = self.models {
            return model_look(models, table, small);
        }
        let _ = small;
        Ok(FrameLook {
            subject: table.describe(Region::Subject),
            background: table.describe(Region::Background),
            ..FrameLook::default()
        })
    }

    /// The backend's name, for reports.
    pub(crate) fn name(&self) -> &'static str {
        #[cfg(feature = "onnx")]
        if self.models.is_some() {
            return "onnx";
        }
        "default"
    }
}

/// Below this share of the frame, the segmentation found no one, and the
/// fixed regions stand in.
#[cfg(feature = "onnx")]
const MIN_PERSON_SHARE: f32 = 0.02;

#[cfg(feature = "onnx")]
fn model_look(models: &ModelBackend, table: &PixelTable, small: &Frame) -> Result<FrameLook> {
    let (w, h) = table.size();
    let (mask, face) = rayon::join(|| models.person_mask(small), || models.face(small));
    let mask = mask?;
    let share = mask.data.iter().sum::<f32>() / (w * h) as f32;
    let (subject, background, subject_box) = if share >= MIN_PERSON_SHARE {
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for y in 0..h {
            for x in 0..w {
                if mask.data[y * w + x] > 0.5 {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                }
            }
        }
        let bounds =
            if x1 > x0 { (x0 as f32, y0 as f32, x1 as f32, y1 as f32) } else { (0.0, 0.0, w as f32, h as f32) };
        (
            table.describe_weighted(|x, y| mask.data[y * w + x]),
            table.describe_weighted(|x, y| 1.0 - mask.data[y * w + x]),
            bounds,
        )
    } else {
        let bounds = ((w / 4) as f32, (h / 6) as f32, (w - w / 4) as f32, h as f32);
        (table.describe(Region::Subject), table.describe(Region::Background), bounds)
    };
    // The face with its hair: wider than the detector's box, and taller
    // above than below.
    let face = face?.and_then(|f| {
        let (fx0, fx1) = (f.x - 0.75 * f.width, f.x + 0.75 * f.width);
        let (fy0, fy1) = (f.y - 0.9 * f.height, f.y + 0.6 * f.height);
        let inside = |x: usize, y: usize| {
            let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
            if x >= fx0 && x < fx1 && y >= fy0 && y < fy1 { 1.0 } else { 0.0 }
        };
        let pixels: f32 = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| inside(x, y)).sum();
        (pixels >= 16.0).then(|| table.describe_weighted(inside))
    });
    let subject_embedding = models.embed(small, subject_box)?;
    let frame_embedding = models.embed(small, (0.0, 0.0, w as f32, h as f32))?;
    Ok(FrameLook { subject, background, face, subject_embedding, frame_embedding })
}

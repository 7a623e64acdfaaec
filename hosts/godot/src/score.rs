//! `MatteboxScorer`: the consistency scores of a run of frames.

use godot::classes::Image;
use godot::prelude::*;
use mattebox_core::consistency::score_frames;

use crate::images::frame_of;

/// Scores frames as `mattebox score` scores a shot.
#[derive(GodotClass, Debug)]
#[class(base = RefCounted, init)]
pub struct MatteboxScorer {
    base: Base<RefCounted>,
}

#[godot_api]
impl MatteboxScorer {
    /// The shot's scores (0 to 1, higher is steadier): `subject`,
    /// `background`, `flicker`, `boiling`, `grade`, `smoothness`, and
    /// `worst` (the name of the lowest); empty, with an error in the log,
    /// for fewer than two frames or a bad image.
    #[func]
    fn score(&self, frames: Array<Gd<Image>>) -> VarDictionary {
        let mut out = VarDictionary::new();
        let scored = (|| -> Result<_, String> {
            if frames.len() < 2 {
                return Err(format!("{} frame(s): a shot needs two or more", frames.len()));
            }
            let frames: Vec<_> = frames
                .iter_shared()
                .enumerate()
                .map(|(i, f)| frame_of(&f, &format!("frame {i}")))
                .collect::<Result<_, _>>()?;
            crate::runtime()?.install(|| score_frames(&frames)).map_err(|e| e.to_string())
        })();
        match scored {
            Ok(shot) => {
                for (name, value) in shot.scores.named() {
                    out.set(name, value as f64);
                }
                out.set("worst", shot.scores.worst().0);
            }
            Err(why) => godot_error!("MatteboxScorer: {why}"),
        }
        out
    }
}

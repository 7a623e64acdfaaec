//! The episode file a farm job is made from: the shots in order, each
//! generated (the built-in generator, offline), optionally composited
//! behind a live-action plate, optionally retimed to the delivery rate.
//!
//! ```toml
//! name = "ep1"
//! output = "renders"            # relative to this file [default: "out"]
//!
//! [defaults]                    # any shot field, for every shot
//! size = "1280x720"
//! fps = "24"
//! duration = "2"
//! deliver_fps = "60"
//! retime_mode = "quality"       # or neural (RIFE; the model on every node) [default: quality]
//!
//! [[shots]]
//! id = "s01"
//! prompt = "a desert at dusk"
//! camera = "pan=0.4"
//! seed = 7
//! takes = 2
//! adapter = "comfyui"          # an installed adapter [default: builtin]
//! extras = { workflow = "@graphs/wan.json" }
//! plate = "plates/s01.mov"      # keyed over each take (green or blue screen)
//! track_camera = true           # the take moves with the plate's camera
//! ```
//!
//! The shot-list issue grows this file (references, adapters, chains);
//! unknown keys are refused so that a typo is not a silent default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rational::Rational;

/// Largest episode file read.
const MAX_BYTES: u64 = 4 << 20;
/// Most shots an episode may hold.
const MAX_SHOTS: usize = 10_000;
/// Most takes of one shot.
const MAX_TAKES: u32 = 100;

/// Shot settings, as written (a shot's or the defaults').
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShotFields {
    id: Option<String>,
    prompt: Option<String>,
    negative_prompt: Option<String>,
    camera: Option<String>,
    seed: Option<u64>,
    takes: Option<u32>,
    duration: Option<String>,
    fps: Option<String>,
    size: Option<String>,
    first_frame: Option<PathBuf>,
    adapter: Option<String>,
    extras: Option<std::collections::BTreeMap<String, String>>,
    plate: Option<PathBuf>,
    track_camera: Option<bool>,
    deliver_fps: Option<String>,
    retime_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EpisodeFile {
    name: String,
    output: Option<PathBuf>,
    #[serde(default)]
    defaults: ShotFields,
    shots: Vec<ShotFields>,
}

/// One shot of an episode, its settings resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeShot {
    /// Its id: letters, digits, `-` and `_` (it names files and tasks).
    pub id: String,
    /// What it shows.
    pub prompt: String,
    /// What it must not show.
    pub negative_prompt: String,
    /// Camera move, as `mattebox generate --camera` takes it.
    pub camera: String,
    /// Seed of its first take (take k has seed + k - 1).
    pub seed: u64,
    /// Takes wanted.
    pub takes: u32,
    /// Length in seconds.
    pub duration: Rational,
    /// Frame rate it is generated at.
    pub fps: Rational,
    /// Width and height.
    pub size: (u32, u32),
    /// The image it starts on.
    pub first_frame: Option<PathBuf>,
    /// The generator: `builtin`, or an installed adapter's id (installed
    /// on every node that runs a generate task).
    pub adapter: String,
    /// Generator-specific settings, as `generate --extra KEY=VALUE` takes them.
    pub extras: std::collections::BTreeMap<String, String>,
    /// Live action keyed over each take.
    pub plate: Option<PathBuf>,
    /// Move each take with the plate's camera (tracked once for the shot).
    pub track_camera: bool,
    /// Retimed to this rate for delivery.
    pub deliver_fps: Option<Rational>,
    /// How the retime makes in-between frames (`quality` unless set; a
    /// `neural` retime needs the RIFE model on every node that runs it).
    pub retime_mode: crate::interp::Mode,
}

impl EpisodeShot {
    /// Frames a take of it has (as the generator makes them).
    pub fn frames(&self) -> u64 {
        let exact = self.duration.to_f64() * self.fps.to_f64();
        (exact.round() as u64).max(1)
    }
}

/// An episode file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Where deliveries go (`output`, relative to the file).
    pub output: PathBuf,
    /// The shots, in order.
    pub shots: Vec<EpisodeShot>,
}

impl Episode {
    /// Reads and checks `path`; every error names the file and the shot.
    pub fn load(path: &Path) -> Result<Episode> {
        let bad = |why: String| Error::invalid_argument(format!("{}: {why}", path.display()));
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open the episode file", e))?;
        let len = file.metadata().map_err(|e| Error::io(path, "read the episode file", e))?.len();
        if len > MAX_BYTES {
            return Err(bad(format!("{len} bytes is too large for an episode file (at most {MAX_BYTES})")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the episode file", e))?;
        let parsed: EpisodeFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = std::path::absolute(base).map_err(|e| Error::io(base, "resolve", e))?;
        if parsed.shots.is_empty() || parsed.shots.len() > MAX_SHOTS {
            return Err(bad(format!("an episode has 1 to {MAX_SHOTS} [[shots]]; this one has {}", parsed.shots.len())));
        }
        if parsed.defaults.id.is_some() {
            return Err(bad("[defaults] cannot give an id".into()));
        }
        let mut shots: Vec<EpisodeShot> = Vec::with_capacity(parsed.shots.len());
        for (n, fields) in parsed.shots.iter().enumerate() {
            let shot = resolve(fields, &parsed.defaults, &base)
                .map_err(|why| bad(format!("shot {} ({}): {why}", n + 1, fields.id.as_deref().unwrap_or("no id"))))?;
            if shots.iter().any(|s| s.id == shot.id) {
                return Err(bad(format!("shot id {:?} is used twice", shot.id)));
            }
            shots.push(shot);
        }
        let output = base.join(parsed.output.unwrap_or_else(|| PathBuf::from("out")));
        Ok(Episode { path: std::path::absolute(path).unwrap_or(path.to_owned()), name: parsed.name, output, shots })
    }

    /// The shot `id`.
    pub fn shot(&self, id: &str) -> Result<&EpisodeShot> {
        self.shots
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::invalid_argument(format!("{}: there is no shot {id:?}", self.path.display())))
    }
}

fn resolve(shot: &ShotFields, defaults: &ShotFields, base: &Path) -> std::result::Result<EpisodeShot, String> {
    macro_rules! pick {
        ($field:ident) => {
            shot.$field.clone().or_else(|| defaults.$field.clone())
        };
    }
    let id = shot.id.clone().ok_or("every shot needs an id")?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("id {id:?} must be 1 to 64 letters, digits, - or _"));
    }
    if let Some(key) = pick!(extras).unwrap_or_default().keys().find(|k| k.is_empty() || k.contains('=')) {
        return Err(format!("extras key {key:?} must be a name without ="));
    }
    let rate = |name: &str, text: Option<String>, default: &str| -> std::result::Result<Rational, String> {
        let text = text.unwrap_or_else(|| default.to_owned());
        let rate = Rational::parse_frame_rate(&text).map_err(|e| format!("{name} {text:?}: {e}"))?;
        if rate.is_positive() { Ok(rate) } else { Err(format!("{name} {text:?} must be above zero")) }
    };
    let duration_text = pick!(duration).unwrap_or_else(|| "2".into());
    let duration: Rational = duration_text.parse().map_err(|e| format!("duration {duration_text:?}: {e}"))?;
    if !duration.is_positive() || duration > Rational::integer(crate::shot::MAX_DURATION_SECONDS) {
        return Err(format!(
            "duration {duration_text} must be above 0 and at most {} s",
            crate::shot::MAX_DURATION_SECONDS
        ));
    }
    let size_text = pick!(size).unwrap_or_else(|| "1280x720".into());
    let size = size_text
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|&(w, h)| w % 2 == 0 && h % 2 == 0 && crate::frame::check_dimensions(w, h).is_ok())
        .ok_or_else(|| format!("size {size_text:?} is not an even size like 1280x720"))?;
    let takes = pick!(takes).unwrap_or(1);
    if takes == 0 || takes > MAX_TAKES {
        return Err(format!("takes {takes} must be 1 to {MAX_TAKES}"));
    }
    let path = |p: Option<PathBuf>| p.map(|p| base.join(p));
    if pick!(track_camera) == Some(true) && pick!(plate).is_none() {
        return Err("track_camera follows a plate's camera; this shot has no plate".into());
    }
    Ok(EpisodeShot {
        id,
        prompt: pick!(prompt).unwrap_or_default(),
        negative_prompt: pick!(negative_prompt).unwrap_or_default(),
        camera: pick!(camera).unwrap_or_default(),
        seed: pick!(seed).unwrap_or(0),
        takes,
        duration,
        fps: rate("fps", pick!(fps), "24")?,
        size,
        first_frame: path(pick!(first_frame)),
        adapter: pick!(adapter).unwrap_or_else(|| "builtin".into()),
        // `@FILE` is read by the task, whose working directory is the
        // engine's: relative to the episode file, as every other path.
        extras: pick!(extras)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v.strip_prefix('@') {
                Some(file) if !file.starts_with('@') => (k, format!("@{}", base.join(file).display())),
                _ => (k, v),
            })
            .collect(),
        plate: path(pick!(plate)),
        track_camera: pick!(track_camera).unwrap_or(false),
        deliver_fps: pick!(deliver_fps).map(|r| rate("deliver_fps", Some(r), "")).transpose()?,
        retime_mode: match pick!(retime_mode) {
            Some(mode) => mode.parse().map_err(|e: Error| format!("retime_mode: {e}"))?,
            None => crate::interp::Mode::Quality,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Episode> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("episode.toml");
        std::fs::write(&path, text).unwrap();
        Episode::load(&path)
    }

    #[test]
    fn defaults_fill_shots_and_paths_are_relative_to_the_file() {
        let episode = load(
            "name = 'ep'\n[defaults]\nfps = '24000/1001'\ntakes = 2\n\
             [[shots]]\nid = 'a'\nplate = 'p/a.mov'\n[[shots]]\nid = 'b'\ntakes = 1\ndeliver_fps = '60'\n",
        )
        .unwrap();
        let (a, b) = (&episode.shots[0], &episode.shots[1]);
        assert_eq!((a.takes, b.takes), (2, 1));
        assert_eq!(a.fps, Rational::new(24000, 1001).unwrap());
        assert!(a.plate.as_ref().unwrap().is_absolute() && a.plate.as_ref().unwrap().ends_with("p/a.mov"));
        assert_eq!(b.deliver_fps, Some(Rational::integer(60)));
        assert_eq!(a.frames(), 48);
        assert!(episode.output.ends_with("out"));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| load(text).unwrap_err().to_string();
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\npromt = 'x'\n").contains("promt"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a b'\n").contains("letters, digits"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\n[[shots]]\nid = 'a'\n").contains("used twice"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\nsize = '641x360'\n").contains("even size"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\ntakes = 0\n").contains("shot 1 (a): takes 0"));
        assert!(err("name = 'e'\nshots = []\n").contains("1 to"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\ntrack_camera = true\n").contains("no plate"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\nextras = { 'a=b' = 'c' }\n").contains("without ="));
        let mode = err("name = 'e'\n[[shots]]\nid = 'a'\nretime_mode = 'rife'\n");
        assert!(mode.contains("shot 1 (a): retime_mode") && mode.contains("neural"), "{mode}");
    }
}

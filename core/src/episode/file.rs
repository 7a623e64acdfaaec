//! The episode file: the references (characters, locations, look, as a
//! `refs.toml` has them) and the shots in order, each generated, optionally
//! chained to the one before, composited behind a live-action plate and
//! retimed to the delivery rate. `mattebox episode` runs, ranks, picks and
//! exports it; `mattebox farm` plans it for a render farm.
//! `docs/EPISODE.md` documents every key; `docs/episode.schema.json` is
//! its JSON schema.
//!
//! ```toml
//! name = "ep1"
//! output = "renders"            # relative to this file [default: "out"]
//! look = ["look/grade.png"]     # the intended grade and style (optional)
//!
//! [characters]                  # the character sheet: images of each
//! mira = ["sheet/mira.png"]
//!
//! [locations]
//! valley = ["locations/valley.png"]
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
//! characters = ["mira"]         # expected in the shot (names from [characters])
//! location = "valley"           # (a name from [locations])
//! adapter = "comfyui"          # an installed adapter [default: builtin]
//! extras = { workflow = "@graphs/wan.json" }
//! plate = "plates/s01.mov"      # keyed over each take (green or blue screen)
//! track_camera = true           # the take moves with the plate's camera
//!
//! [[shots]]
//! id = "s02"
//! after = "s01"                 # starts on the last frame of s01's pick
//! ```
//!
//! Unknown keys are refused so that a typo is not a silent default.

use std::collections::BTreeMap;
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
/// Most images one character, location or the look may list.
const MAX_REFERENCE_IMAGES: usize = 64;

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
    last_frame: Option<PathBuf>,
    after: Option<String>,
    characters: Option<Vec<String>>,
    location: Option<String>,
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
    look: Vec<PathBuf>,
    #[serde(default)]
    characters: BTreeMap<String, Vec<PathBuf>>,
    #[serde(default)]
    locations: BTreeMap<String, Vec<PathBuf>>,
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
    /// The image it ends on.
    pub last_frame: Option<PathBuf>,
    /// The shot it continues: it starts on the last frame of that shot's
    /// chosen take (the pick, else the best ranked).
    pub after: Option<String>,
    /// Characters expected in it (names from the episode's `[characters]`).
    pub characters: Vec<String>,
    /// Its location (a name from `[locations]`).
    pub location: Option<String>,
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
    /// Images of the intended grade and style (absolute paths).
    pub look: Vec<PathBuf>,
    /// The character sheet: each character's images.
    pub characters: BTreeMap<String, Vec<PathBuf>>,
    /// Each location's images.
    pub locations: BTreeMap<String, Vec<PathBuf>>,
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
        if parsed.defaults.id.is_some() || parsed.defaults.after.is_some() {
            return Err(bad("[defaults] cannot give an id or an after: they belong to one shot".into()));
        }
        let images = |what: String, paths: &[PathBuf]| -> Result<Vec<PathBuf>> {
            if paths.is_empty() || paths.len() > MAX_REFERENCE_IMAGES {
                return Err(bad(format!("{what} lists {} images; list 1 to {MAX_REFERENCE_IMAGES}", paths.len())));
            }
            Ok(paths.iter().map(|p| tidy(&base.join(p))).collect())
        };
        let mut characters = BTreeMap::new();
        for (name, paths) in &parsed.characters {
            characters.insert(name.clone(), images(format!("character {name:?}"), paths)?);
        }
        let mut locations = BTreeMap::new();
        for (name, paths) in &parsed.locations {
            locations.insert(name.clone(), images(format!("location {name:?}"), paths)?);
        }
        let look = if parsed.look.is_empty() { Vec::new() } else { images("look".into(), &parsed.look)? };
        let mut shots: Vec<EpisodeShot> = Vec::with_capacity(parsed.shots.len());
        for (n, fields) in parsed.shots.iter().enumerate() {
            let shot = resolve(fields, &parsed.defaults, &base)
                .map_err(|why| bad(format!("shot {} ({}): {why}", n + 1, fields.id.as_deref().unwrap_or("no id"))))?;
            if shots.iter().any(|s| s.id == shot.id) {
                return Err(bad(format!("shot id {:?} is used twice", shot.id)));
            }
            let missing = |kind: &str, name: &str| {
                bad(format!(
                    "shot {} names {kind} {name:?}, which [{kind}s] does not list (listed: {})",
                    shot.id,
                    match kind {
                        "character" => list(characters.keys()),
                        _ => list(locations.keys()),
                    }
                ))
            };
            if let Some(name) = shot.characters.iter().find(|c| !characters.contains_key(*c)) {
                return Err(missing("character", name));
            }
            if let Some(name) = shot.location.as_ref().filter(|l| !locations.contains_key(*l)) {
                return Err(missing("location", name));
            }
            shots.push(shot);
        }
        let episode_path = std::path::absolute(path).unwrap_or(path.to_owned());
        let output = tidy(&base.join(parsed.output.unwrap_or_else(|| PathBuf::from("out"))));
        let episode = Episode { path: episode_path, name: parsed.name, output, shots, look, characters, locations };
        episode.generation_order().map_err(|e| bad(e.to_string()))?;
        Ok(episode)
    }

    /// The shots in an order that generates every shot after the one it
    /// continues (`after`), otherwise in the file's order; an `after` that
    /// names no shot, or a chain that loops, is an error naming the shots.
    pub fn generation_order(&self) -> Result<Vec<usize>> {
        let index = |id: &str| self.shots.iter().position(|s| s.id == id);
        let mut order = Vec::with_capacity(self.shots.len());
        let mut placed = vec![false; self.shots.len()];
        for start in 0..self.shots.len() {
            // Walk back to the head of this shot's chain, then place it and
            // every shot on the way, head first.
            let mut chain = vec![start];
            let mut at = start;
            while let Some(after) = &self.shots[at].after {
                let Some(previous) = index(after) else {
                    return Err(Error::invalid_argument(format!(
                        "shot {} continues {after:?} (after), which is not a shot of this episode",
                        self.shots[at].id
                    )));
                };
                if let Some(loop_at) = chain.iter().position(|&c| c == previous) {
                    let ids: Vec<&str> = chain[loop_at..].iter().map(|&c| self.shots[c].id.as_str()).collect();
                    return Err(Error::invalid_argument(format!(
                        "the chain {} after {} loops: following `after` from a shot must reach a shot that starts \
                         on its own",
                        ids.join(" after "),
                        self.shots[previous].id
                    )));
                }
                if placed[previous] {
                    break;
                }
                chain.push(previous);
                at = previous;
            }
            for &c in chain.iter().rev() {
                if !placed[c] {
                    placed[c] = true;
                    order.push(c);
                }
            }
        }
        Ok(order)
    }

    /// The frame rate of the episode's timeline: its first shot's.
    pub fn timeline_rate(&self) -> Rational {
        self.shots[0].fps
    }

    /// The shot `id`.
    pub fn shot(&self, id: &str) -> Result<&EpisodeShot> {
        self.shots
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::invalid_argument(format!("{}: there is no shot {id:?}", self.path.display())))
    }
}

/// `path` with `.` and `..` taken out lexically (`a/b/../c` is `a/c`), so
/// paths shown to people and written into timelines read plainly.
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
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
    let path = |p: Option<PathBuf>| p.map(|p| tidy(&base.join(p)));
    if pick!(track_camera) == Some(true) && pick!(plate).is_none() {
        return Err("track_camera follows a plate's camera; this shot has no plate".into());
    }
    if shot.after.is_some() && pick!(first_frame).is_some() {
        return Err(
            "a shot that continues another (after) starts on its last frame; it cannot also give first_frame".into()
        );
    }
    if shot.after.as_ref() == Some(&id) {
        return Err("a shot cannot continue itself (after)".into());
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
        last_frame: path(pick!(last_frame)),
        after: shot.after.clone(),
        characters: pick!(characters).unwrap_or_default(),
        location: pick!(location),
        adapter: pick!(adapter).unwrap_or_else(|| "builtin".into()),
        // `@FILE` is read by the task, whose working directory is the
        // engine's: relative to the episode file, as every other path.
        extras: pick!(extras)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v.strip_prefix('@') {
                Some(file) if !file.starts_with('@') => (k, format!("@{}", tidy(&base.join(file)).display())),
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
        let up = load("name = 'e'\noutput = '../x/./out'\n[[shots]]\nid = 'a'\n").unwrap();
        assert!(!up.output.to_string_lossy().contains(".."), "{}", up.output.display());
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

    #[test]
    fn chains_order_generation_and_references_are_checked() {
        let episode = load(
            "name = 'e'\nlook = ['g.png']\n[characters]\nmira = ['m1.png', 'm2.png']\n[locations]\nvalley = ['v.png']\n\
             [[shots]]\nid = 'c'\nafter = 'b'\n[[shots]]\nid = 'a'\ncharacters = ['mira']\nlocation = 'valley'\n\
             [[shots]]\nid = 'b'\nafter = 'a'\n[[shots]]\nid = 'd'\n",
        )
        .unwrap();
        let ids: Vec<&str> =
            episode.generation_order().unwrap().iter().map(|&i| episode.shots[i].id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(episode.shots[1].characters, ["mira"]);
        assert_eq!(episode.shots[0].after.as_deref(), Some("b"));
        assert!(episode.characters["mira"][1].is_absolute() && episode.characters["mira"][1].ends_with("m2.png"));
        assert!(episode.look[0].ends_with("g.png"));

        let err = |text: &str| load(text).unwrap_err().to_string();
        let looped = err("name = 'e'\n[[shots]]\nid = 'a'\nafter = 'c'\n[[shots]]\nid = 'b'\nafter = 'a'\n\
                          [[shots]]\nid = 'c'\nafter = 'b'\n");
        assert!(looped.contains("loops") && looped.contains("a after c after b after a"), "{looped}");
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\nafter = 'a'\n").contains("continue itself"));
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\nafter = 'z'\n").contains("\"z\" (after), which is not a shot"));
        let missing = err("name = 'e'\n[characters]\nmira = ['m.png']\n[[shots]]\nid = 'a'\ncharacters = ['joe']\n");
        assert!(missing.contains("names character \"joe\"") && missing.contains("listed: mira"), "{missing}");
        assert!(err("name = 'e'\n[[shots]]\nid = 'a'\nlocation = 'moon'\n").contains("listed: none"));
        assert!(err("name = 'e'\n[characters]\nmira = []\n[[shots]]\nid = 'a'\n").contains("1 to 64"));
        assert!(err("name = 'e'\n[defaults]\nafter = 'a'\n[[shots]]\nid = 'a'\n").contains("belong to one shot"));
        let both = err("name = 'e'\n[[shots]]\nid = 'a'\n[[shots]]\nid = 'b'\nafter = 'a'\nfirst_frame = 'x.png'\n");
        assert!(both.contains("cannot also give first_frame"), "{both}");
    }

    /// The fields the parser names when it refuses an unknown one.
    fn accepted_fields(text: &str) -> std::collections::BTreeSet<String> {
        let err = load(text).unwrap_err().to_string();
        let list = err.split("expected one of").nth(1).unwrap_or_else(|| panic!("{err}"));
        list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
    }

    #[test]
    fn the_json_schema_lists_exactly_what_the_parser_accepts() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/episode.schema.json")).unwrap();
        let keys = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
            v["properties"].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&schema["$defs"]["shot"]), accepted_fields("name = 'e'\n[[shots]]\nid = 'a'\nnope = 1\n"));
        assert_eq!(keys(&schema), accepted_fields("name = 'e'\nnope = 1\n[[shots]]\nid = 'a'\n"));
        let modes: Vec<&str> = schema["$defs"]["shot"]["properties"]["retime_mode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(modes, crate::interp::Mode::ALL.map(|m| m.name()));
    }
}

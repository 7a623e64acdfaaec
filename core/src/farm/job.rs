//! An episode as a farm job: steps of tasks, each task one `mattebox`
//! command, chunked where a shot is long.
//!
//! A task is named by a short id that carries all it needs (`s01:2` is
//! take 2 of shot s01; `s01:2:61-120` its output frames 61 to 120), so the
//! templates stay small and every engine runs the same thing:
//! `mattebox farm task EPISODE STEP ID`, which [`task_command`] turns into
//! the command it runs. Files land under the output directory:
//!
//! ```text
//! <out>/<shot>/take-<k>/take-1.mkv   the take (FFV1, lossless)
//! <out>/<shot>/camera-track.json     the plate's camera, tracked once (track_camera)
//! <out>/<shot>/take-<k>/composite/   the plate over it, a sequence (chunked)
//! <out>/<shot>/take-<k>/retimed/     at the delivery rate, a sequence (chunked)
//! <out>/<shot>-take-<k>.mp4          the delivery, with the plate's sound
//! <out>/scores/<shot>-take-<k>.json  its scores, saved (and .html, its page)
//! <out>/scores.json                  every delivery compared across the episode
//! ```

use std::path::{Path, PathBuf};

use crate::episode::{Episode, EpisodeShot};
use crate::error::{Error, Result};
use crate::interp::Mode;
use crate::interp::retime::RetimeSpec;
use crate::interp::shot::ShotRetimer;
use crate::rational::Rational;

/// Seconds one output frame of a megapixel costs, measured whole command
/// on this project's 2-core machine (`docs/FARM.md`), to size chunks.
const RETIME_SECONDS_PER_MEGAPIXEL: f64 = 0.3;
/// The same for a neural (RIFE) retime: the benchmark's 1080p frame takes
/// 3.1 s (4.x) to 5.0 s (HDv3), docs/BENCHMARKS.md.
const NEURAL_RETIME_SECONDS_PER_MEGAPIXEL: f64 = 2.5;
const COMPOSITE_SECONDS_PER_MEGAPIXEL: f64 = 0.1;

/// The steps of a farm job, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// One task per take: the take generated and exported.
    Generate,
    /// One task per shot that follows its plate's camera (`SHOT`): the
    /// camera tracked over the whole plate, once, for every chunk.
    Track,
    /// Chunks: the plate keyed over the take.
    Composite,
    /// Chunks: retimed to the delivery rate.
    Retime,
    /// One task per take: the chunks joined into the delivery file.
    Deliver,
    /// One task per take: the delivery scored, the scores saved.
    Score,
    /// One task: the saved scores compared across the episode.
    Report,
}

impl StepKind {
    /// Every step.
    pub const ALL: [StepKind; 7] = [
        StepKind::Generate,
        StepKind::Track,
        StepKind::Composite,
        StepKind::Retime,
        StepKind::Deliver,
        StepKind::Score,
        StepKind::Report,
    ];

    /// Its name in templates and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Generate => "generate",
            StepKind::Track => "track",
            StepKind::Composite => "composite",
            StepKind::Retime => "retime",
            StepKind::Deliver => "deliver",
            StepKind::Score => "score",
            StepKind::Report => "report",
        }
    }

    /// The step named `name`.
    pub fn parse(name: &str) -> Result<StepKind> {
        StepKind::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            Error::invalid_argument(format!(
                "{name:?} is not a farm step (generate, track, composite, retime, deliver, score or report)"
            ))
        })
    }
}

/// One step: its tasks and the steps that must finish first.
#[derive(Clone, Debug)]
pub struct Step {
    /// Which step.
    pub kind: StepKind,
    /// Task ids, in order.
    pub tasks: Vec<String>,
    /// Steps whose tasks must all succeed first.
    pub depends_on: Vec<StepKind>,
    /// Whether task i needs only task i of its one dependency (Slurm's
    /// `aftercorr`), not the whole step.
    pub element_wise: bool,
}

/// How chunks are sized.
#[derive(Clone, Copy, Debug)]
pub struct Chunking {
    /// Frames per chunk, if fixed.
    pub frames: Option<u64>,
    /// Otherwise, the runtime a chunk should take, in seconds.
    pub seconds: f64,
}

impl Default for Chunking {
    fn default() -> Self {
        Chunking { frames: None, seconds: 600.0 }
    }
}

/// An episode planned as a farm job.
#[derive(Clone, Debug)]
pub struct FarmJob {
    /// The episode.
    pub episode: Episode,
    /// Its steps, in dependency order; steps with no tasks are left out.
    pub steps: Vec<Step>,
}

/// Frames and rate of a plate, as a probe of the file says.
pub type PlateProbe<'a> = &'a dyn Fn(&Path) -> Result<(u64, Rational)>;

impl FarmJob {
    /// Plans `episode`; `probe` gives a plate's frame count and rate.
    pub fn plan(episode: Episode, chunking: Chunking, probe: PlateProbe<'_>) -> Result<FarmJob> {
        let mut generate = Vec::new();
        let mut track = Vec::new();
        let mut composite = Vec::new();
        let mut retime = Vec::new();
        let mut deliver = Vec::new();
        for shot in &episode.shots {
            if let Some(after) = &shot.after {
                return Err(Error::invalid_argument(format!(
                    "shot {} continues {after} (after): chained shots are generated one after the other by \
                     `mattebox episode run`, which the farm does not plan yet; run the episode there first",
                    shot.id
                )));
            }
            let megapixels = f64::from(shot.size.0) * f64::from(shot.size.1) / 1e6;
            // What the retime (if any) reads: the composite at the plate's
            // rate and length, or the take.
            let (mut frames, mut rate) = (shot.frames(), shot.fps);
            let plate = match &shot.plate {
                Some(plate) => {
                    let (n, r) =
                        probe(plate).map_err(|e| e.context(format!("shot {}'s plate {}", shot.id, plate.display())))?;
                    (frames, rate) = (n, r);
                    Some(n)
                }
                None => None,
            };
            let retimed = match shot.deliver_fps {
                Some(target) => {
                    let plan = ShotRetimer::new(rate, frames, None, &RetimeSpec::FrameRate(target), Mode::Quality)
                        .map_err(|e| e.context(format!("shot {}", shot.id)))?;
                    Some(plan.output_frames())
                }
                None => None,
            };
            if plate.is_some() && shot.track_camera {
                track.push(shot.id.clone());
            }
            for take in 1..=shot.takes {
                let id = format!("{}:{take}", shot.id);
                generate.push(id.clone());
                if let Some(n) = plate {
                    let per = chunk_frames(chunking, megapixels * COMPOSITE_SECONDS_PER_MEGAPIXEL);
                    composite.extend(ranges(n, per).into_iter().map(|r| format!("{id}:{r}")));
                }
                if let Some(n) = retimed {
                    let cost = match shot.retime_mode {
                        Mode::Neural => NEURAL_RETIME_SECONDS_PER_MEGAPIXEL,
                        _ => RETIME_SECONDS_PER_MEGAPIXEL,
                    };
                    let per = chunk_frames(chunking, megapixels * cost);
                    retime.extend(ranges(n, per).into_iter().map(|r| format!("{id}:{r}")));
                }
                deliver.push(id);
            }
        }
        let mut steps: Vec<Step> = Vec::new();
        for (kind, tasks) in [
            (StepKind::Generate, generate),
            (StepKind::Track, track),
            (StepKind::Composite, composite),
            (StepKind::Retime, retime),
            (StepKind::Deliver, deliver.clone()),
            (StepKind::Score, deliver),
            (StepKind::Report, vec!["all".to_owned()]),
        ] {
            if tasks.is_empty() {
                continue;
            }
            let before = steps.last();
            let element_wise = before.is_some_and(|b| b.tasks == tasks);
            let depends_on = before.map(|b| vec![b.kind]).unwrap_or_default();
            steps.push(Step { kind, tasks, depends_on, element_wise });
        }
        Ok(FarmJob { episode, steps })
    }

    /// The step of `kind`, if the job has one.
    pub fn step(&self, kind: StepKind) -> Option<&Step> {
        self.steps.iter().find(|s| s.kind == kind)
    }
}

fn chunk_frames(chunking: Chunking, seconds_per_frame: f64) -> u64 {
    chunking.frames.unwrap_or_else(|| (chunking.seconds / seconds_per_frame.max(1e-6)).floor().max(1.0) as u64).max(1)
}

/// `1-per`, `per+1-2per`, ... up to `total` (frames counted from 1).
fn ranges(total: u64, per: u64) -> Vec<String> {
    (0..total.div_ceil(per)).map(|c| format!("{}-{}", c * per + 1, ((c + 1) * per).min(total))).collect()
}

/// Where a take's files go under `out`.
fn take_dir(out: &Path, shot: &EpisodeShot, take: u32) -> PathBuf {
    out.join(&shot.id).join(format!("take-{take}"))
}

/// The delivery file of a take.
pub fn delivery(out: &Path, shot: &EpisodeShot, take: u32) -> PathBuf {
    out.join(format!("{}-take-{take}.mp4", shot.id))
}

/// The shot's camera track, made once by its track task.
fn camera_track(out: &Path, shot: &EpisodeShot) -> PathBuf {
    out.join(&shot.id).join("camera-track.json")
}

/// Where a take's scores are saved (`.json`) and shown (`.html`).
fn scores_of(out: &Path, shot: &EpisodeShot, take: u32, extension: &str) -> PathBuf {
    out.join("scores").join(format!("{}-take-{take}.{extension}", shot.id))
}

/// A task id taken apart: shot, take, frame range.
fn parse_task<'e>(episode: &'e Episode, id: &str) -> Result<(&'e EpisodeShot, u32, Option<String>)> {
    let bad = || Error::invalid_argument(format!("{id:?} is not a task id (SHOT:TAKE or SHOT:TAKE:A-B)"));
    let mut parts = id.split(':');
    let (shot, take) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
    let range = parts.next().map(str::to_owned);
    if parts.next().is_some() {
        return Err(bad());
    }
    let shot = episode.shot(shot)?;
    let take: u32 = take.parse().map_err(|_| bad())?;
    if take == 0 || take > shot.takes {
        return Err(Error::invalid_argument(format!("shot {} has takes 1 to {}; not {take}", shot.id, shot.takes)));
    }
    Ok((shot, take, range))
}

/// The `mattebox` command (its arguments, from the subcommand on) that task
/// `id` of `step` runs, its files under `out`.
pub fn task_command(episode: &Episode, step: StepKind, id: &str, out: &Path) -> Result<Vec<String>> {
    let s = |p: &Path| p.display().to_string();
    if step == StepKind::Track {
        let shot = episode.shot(id)?;
        let plate = shot.plate.as_ref().filter(|_| shot.track_camera).ok_or_else(|| {
            Error::invalid_argument(format!("shot {} does not track a plate's camera (track_camera)", shot.id))
        })?;
        let dir = take_dir(out, shot, 1);
        // A dry run with a track file to make: the track, nothing else.
        return Ok(vec![
            "composite".into(),
            "--plate".into(),
            s(plate),
            "--background".into(),
            s(&dir.join("take-1.mkv")),
            "-o".into(),
            s(&dir.join("composite")),
            "--camera-track".into(),
            s(&camera_track(out, shot)),
            "--dry-run".into(),
        ]);
    }
    if step == StepKind::Report {
        let mut args = vec!["score".to_owned(), "--merge".to_owned()];
        for shot in &episode.shots {
            args.extend((1..=shot.takes).map(|k| s(&scores_of(out, shot, k, "json"))));
        }
        args.push(format!("--json={}", s(&out.join("scores.json"))));
        return Ok(args);
    }
    let (shot, take, range) = parse_task(episode, id)?;
    let dir = take_dir(out, shot, take);
    let take_file = dir.join("take-1.mkv");
    let composite = dir.join("composite");
    let retimed = dir.join("retimed");
    let chunked = |what: &str| {
        range.clone().ok_or_else(|| Error::invalid_argument(format!("a {what} task is a frame range: SHOT:TAKE:A-B")))
    };
    let args: Vec<String> = match step {
        StepKind::Generate => {
            let mut args = vec![
                "generate".into(),
                "--prompt".into(),
                shot.prompt.clone(),
                "--negative-prompt".into(),
                shot.negative_prompt.clone(),
                "--camera".into(),
                shot.camera.clone(),
                "--duration".into(),
                shot.duration.to_string(),
                "--fps".into(),
                shot.fps.to_string(),
                "--size".into(),
                format!("{}x{}", shot.size.0, shot.size.1),
                "--seed".into(),
                (shot.seed + u64::from(take) - 1).to_string(),
                "--takes".into(),
                "1".into(),
                "--format".into(),
                "mkv".into(),
                "-o".into(),
                s(&dir),
                "-y".into(),
            ];
            if let Some(first) = &shot.first_frame {
                args.extend(["--first-frame".into(), s(first)]);
            }
            if let Some(last) = &shot.last_frame {
                args.extend(["--last-frame".into(), s(last)]);
            }
            args.extend(["--adapter".into(), shot.adapter.clone()]);
            for (key, value) in &shot.extras {
                args.extend(["--extra".into(), format!("{key}={value}")]);
            }
            args
        }
        StepKind::Composite => {
            let plate = shot
                .plate
                .as_ref()
                .ok_or_else(|| Error::invalid_argument(format!("shot {} has no plate to composite", shot.id)))?;
            let mut args = vec![
                "composite".into(),
                "--plate".into(),
                s(plate),
                "--background".into(),
                s(&take_file),
                "-o".into(),
                s(&composite),
                "--frames".into(),
                chunked("composite")?,
                "-y".into(),
            ];
            if shot.track_camera {
                args.extend(["--camera-track".into(), s(&camera_track(out, shot))]);
            }
            args
        }
        StepKind::Retime => {
            let rate = shot
                .deliver_fps
                .ok_or_else(|| Error::invalid_argument(format!("shot {} has no deliver_fps to retime to", shot.id)))?;
            let input = if shot.plate.is_some() { &composite } else { &take_file };
            vec![
                "retime".into(),
                s(input),
                "-o".into(),
                s(&retimed),
                "--fps".into(),
                rate.to_string(),
                "--mode".into(),
                shot.retime_mode.name().into(),
                "--frames".into(),
                chunked("retime")?,
                "-y".into(),
            ]
        }
        StepKind::Deliver => {
            let last = match (shot.deliver_fps, &shot.plate) {
                (Some(_), _) => &retimed,
                (None, Some(_)) => &composite,
                (None, None) => &take_file,
            };
            let mut args = vec!["convert".into(), s(last), s(&delivery(out, shot, take)), "-y".into()];
            if let Some(plate) = &shot.plate {
                args.extend(["--audio-file".into(), s(plate)]);
            }
            args
        }
        StepKind::Score => {
            vec![
                "score".into(),
                s(&delivery(out, shot, take)),
                "--save".into(),
                s(&scores_of(out, shot, take, "json")),
                "--html".into(),
                s(&scores_of(out, shot, take, "html")),
                "-y".into(),
            ]
        }
        StepKind::Track | StepKind::Report => unreachable!("handled above"),
    };
    if step != StepKind::Composite && step != StepKind::Retime && range.is_some() {
        return Err(Error::invalid_argument(format!("a {} task is SHOT:TAKE, without a frame range", step.name())));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(text: &str) -> Episode {
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("episode.toml");
        std::fs::write(&path, text).unwrap();
        Episode::load(&path).unwrap()
    }

    #[test]
    fn steps_chunks_and_dependencies() {
        let ep = episode(
            "name = 'e'\n[defaults]\nsize = '320x180'\n[[shots]]\nid = 'a'\ntakes = 2\ndeliver_fps = '60'\n\
             plate = 'a.mov'\n[[shots]]\nid = 'b'\n",
        );
        let probe = |_: &Path| Ok((48, Rational::integer(24)));
        let job = FarmJob::plan(ep.clone(), Chunking { frames: Some(50), seconds: 0.0 }, &probe).unwrap();
        let names: Vec<_> = job.steps.iter().map(|s| s.kind.name()).collect();
        assert_eq!(names, ["generate", "composite", "retime", "deliver", "score", "report"]);
        // Each take is scored once its delivery is made, and only that.
        assert!(job.step(StepKind::Score).unwrap().element_wise);
        assert_eq!(job.step(StepKind::Generate).unwrap().tasks, ["a:1", "a:2", "b:1"]);
        assert_eq!(job.step(StepKind::Composite).unwrap().tasks, ["a:1:1-48", "a:2:1-48"]);
        // 48 frames at 24 fps retimed to 60: 120 frames, in chunks of 50.
        assert_eq!(
            job.step(StepKind::Retime).unwrap().tasks,
            ["a:1:1-50", "a:1:51-100", "a:1:101-120", "a:2:1-50", "a:2:51-100", "a:2:101-120"]
        );
        assert_eq!(job.step(StepKind::Deliver).unwrap().depends_on, [StepKind::Retime]);
        let cmd = task_command(&ep, StepKind::Retime, "a:2:51-100", Path::new("/o")).unwrap();
        assert_eq!(
            cmd,
            [
                "retime",
                "/o/a/take-2/composite",
                "-o",
                "/o/a/take-2/retimed",
                "--fps",
                "60",
                "--mode",
                "quality",
                "--frames",
                "51-100",
                "-y"
            ]
        );
        // A neural retime costs more per frame: smaller chunks for the
        // same time per task, and the mode reaches the command.
        let neural = episode(
            "name = 'e'\n[defaults]\nsize = '1920x1080'\nduration = '4'\n[[shots]]\nid = 'n'\n\
             deliver_fps = '60'\nretime_mode = 'neural'\n[[shots]]\nid = 'q'\ndeliver_fps = '60'\n",
        );
        let job = FarmJob::plan(neural.clone(), Chunking::default(), &probe).unwrap();
        let tasks = &job.step(StepKind::Retime).unwrap().tasks;
        let neural_chunks = tasks.iter().filter(|t| t.starts_with("n:")).count();
        let quality_chunks = tasks.iter().filter(|t| t.starts_with("q:")).count();
        assert!(neural_chunks > quality_chunks, "{tasks:?}");
        let cmd = task_command(&neural, StepKind::Retime, "n:1:1-10", Path::new("/o")).unwrap();
        assert!(cmd.windows(2).any(|w| w == ["--mode", "neural"]), "{cmd:?}");
        let cmd = task_command(&ep, StepKind::Generate, "a:2", Path::new("/o")).unwrap();
        assert!(cmd.windows(2).any(|w| w == ["--seed", "1"]), "take 2 has the seed after take 1's: {cmd:?}");
        assert!(cmd.windows(2).any(|w| w == ["--adapter", "builtin"]), "{cmd:?}");
        let comfy = episode(
            "name = 'e'\n[[shots]]\nid = 'c'\nadapter = 'comfyui'\nextras = { workflow = '@g.json', steps = '20' }\n",
        );
        let cmd = task_command(&comfy, StepKind::Generate, "c:1", Path::new("/o")).unwrap();
        let tail: Vec<&str> = cmd.iter().map(String::as_str).skip_while(|a| *a != "--adapter").collect();
        let graph = format!("workflow=@{}", comfy.path.parent().unwrap().join("g.json").display());
        assert_eq!(tail, ["--adapter", "comfyui", "--extra", "steps=20", "--extra", graph.as_str()]);
        assert!(
            task_command(&ep, StepKind::Generate, "a:3", Path::new("/o"))
                .unwrap_err()
                .to_string()
                .contains("takes 1 to 2")
        );
        assert!(task_command(&ep, StepKind::Retime, "a:1", Path::new("/o")).is_err());
        assert!(
            task_command(&ep, StepKind::Composite, "b:1:1-5", Path::new("/o"))
                .unwrap_err()
                .to_string()
                .contains("no plate")
        );
        // Only generate and deliver: deliver follows each take alone.
        // A shot that follows its plate's camera: tracked once, before its chunks.
        let tracked = episode("name = 'e'\n[[shots]]\nid = 't'\ntakes = 2\nplate = 't.mov'\ntrack_camera = true\n");
        let job = FarmJob::plan(tracked.clone(), Chunking { frames: Some(30), seconds: 0.0 }, &probe).unwrap();
        assert_eq!(job.step(StepKind::Track).unwrap().tasks, ["t"]);
        assert_eq!(job.step(StepKind::Composite).unwrap().depends_on, [StepKind::Track]);
        let cmd = task_command(&tracked, StepKind::Composite, "t:2:31-48", Path::new("/o")).unwrap();
        assert!(cmd.windows(2).any(|w| w == ["--camera-track", "/o/t/camera-track.json"]), "{cmd:?}");
        let cmd = task_command(&tracked, StepKind::Track, "t", Path::new("/o")).unwrap();
        assert!(cmd.contains(&"--dry-run".to_owned()) && cmd.contains(&"/o/t/camera-track.json".to_owned()), "{cmd:?}");
        let simple = episode("name = 'e'\n[[shots]]\nid = 'c'\ntakes = 3\n");
        let job = FarmJob::plan(simple, Chunking::default(), &probe).unwrap();
        assert!(job.step(StepKind::Deliver).unwrap().element_wise);
    }

    #[test]
    fn last_frames_pass_on_and_chains_are_left_to_episode_run() {
        let probe = |_: &Path| Ok((48, Rational::integer(24)));
        let ep = episode("name = 'e'\n[[shots]]\nid = 'a'\nlast_frame = 'end.png'\n");
        let cmd = task_command(&ep, StepKind::Generate, "a:1", Path::new("/o")).unwrap();
        let at = cmd.iter().position(|a| a == "--last-frame").expect("--last-frame");
        assert!(cmd[at + 1].ends_with("end.png"));
        let chained = episode("name = 'e'\n[[shots]]\nid = 'a'\n[[shots]]\nid = 'b'\nafter = 'a'\n");
        let err = FarmJob::plan(chained, Chunking::default(), &probe).unwrap_err().to_string();
        assert!(err.contains("shot b continues a") && err.contains("mattebox episode run"), "{err}");
    }

    #[test]
    fn chunks_follow_a_target_runtime() {
        assert_eq!(ranges(10, 4), ["1-4", "5-8", "9-10"]);
        assert_eq!(ranges(8, 8), ["1-8"]);
        // 1080p retime at 0.3 s per megapixel-frame: 600 s is 964 frames.
        assert_eq!(chunk_frames(Chunking::default(), 1920.0 * 1080.0 / 1e6 * RETIME_SECONDS_PER_MEGAPIXEL), 964);
    }
}

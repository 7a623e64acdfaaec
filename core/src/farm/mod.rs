//! Episodes on a render farm: an episode file planned as steps of tasks
//! ([`FarmJob`]), written as an Open Job Description job template
//! ([`openjd::template`]) or as Slurm batch scripts ([`slurm::scripts`]).
//! Every task is one `mattebox` command ([`task_command`]); the engine
//! schedules, Mattebox decides what each task does. See `docs/FARM.md`.

mod job;
pub mod openjd;
pub mod slurm;

pub use job::{Chunking, FarmJob, PlateProbe, Step, StepKind, delivery, task_command};

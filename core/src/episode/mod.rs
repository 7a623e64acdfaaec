//! An episode from shot list to timeline: the episode file ([`Episode`]),
//! its takes generated, scored and ranked ([`run`]), the director's picks
//! ([`Picks`]), and the picked takes handed to an editor as a timeline
//! ([`timeline`]: OpenTimelineIO, FCPXML, CMX 3600 EDL, MLT).

mod file;
mod picks;
mod rank;
#[cfg(feature = "images")]
pub mod run;
#[cfg(feature = "images")]
pub mod timeline;

pub use file::{Episode, EpisodeShot};
pub use picks::{MoreTakes, Picks, ShotPicks};
pub use rank::{RankedTake, TakeScores, WEIGHTS, rank_takes};

//! Jobs that run the core's algorithms over media files: read, process,
//! write atomically, report progress. Hosts reach them through [`crate::Runtime`].

pub mod composite;
pub mod retime;
pub mod scan;
mod stream;

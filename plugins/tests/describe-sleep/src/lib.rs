//! An adapter whose `describe()` never returns: a WASI sleep of an hour,
//! which epoch interruption cannot reach. `mattebox plugin check` must
//! still end, with an error that says why.

use mattebox_adapter::*;

struct Sleeper;

impl Adapter for Sleeper {
    fn describe() -> AdapterInfo {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        info("describe-sleep", "Sleeps in describe", "0.1.0", &[])
    }

    fn generate(_request: ShotRequest) -> Result<TakeReport, GenerateError> {
        Err(GenerateError::Other("this adapter only sleeps".into()))
    }
}

export_adapter!(Sleeper);

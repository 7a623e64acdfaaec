//! An adapter whose `describe()` answers with a 32 MiB name and a
//! million fields: what the host shows and stores must stay small.

use mattebox_adapter::*;

struct Huge;

impl Adapter for Huge {
    fn describe() -> AdapterInfo {
        let name = "n".repeat(32 << 20);
        let honours = vec![Field::Prompt; 1_000_000];
        AdapterInfo { id: "describe-huge".into(), name, version: "0.1.0".into(), honours }
    }

    fn generate(_request: ShotRequest) -> Result<TakeReport, GenerateError> {
        Err(GenerateError::Other("this adapter only describes itself".into()))
    }
}

export_adapter!(Huge);

//! A farm job as Slurm batch scripts: one job array per step, each
//! submitted after the step before it (`afterok`: every task of it; or
//! `aftercorr`: task i after task i, where the steps' tasks correspond).
//!
//! `submit.sh` submits them all and prints the job ids; `STEP.tasks` lists
//! a step's task ids, one per line, which array task i reads at line i;
//! `STEP.sbatch` runs `mattebox farm task` for it. Settings come from the
//! environment of `submit.sh` (sbatch passes it on): `MATTEBOX`,
//! `MATTEBOX_EPISODE`, `MATTEBOX_OUTPUT_DIR`, `MATTEBOX_CACHE_DIR`, with
//! the defaults written in; sbatch's own `SBATCH_*` variables (partition,
//! account) apply as usual.

use std::fmt::Write;
use std::path::Path;

use super::job::FarmJob;

/// `text` inside a double-quoted shell word: `\`, `"`, `$` and `` ` `` escaped.
fn in_double_quotes(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '"' | '$' | '`' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The files of the batch job for `job`, by name: `submit.sh`, and for each
/// step `STEP.sbatch` and `STEP.tasks`.
pub fn scripts(job: &FarmJob, binary: &Path, cache_dir: &Path, cpus_per_task: u32) -> Vec<(String, String)> {
    let episode = &job.episode;
    let mut files = Vec::new();
    let mut submit = String::new();
    let _ = writeln!(submit, "#!/bin/bash");
    let _ = writeln!(submit, "# Written by `mattebox farm slurm` from {}.", episode.path.display());
    let _ =
        writeln!(submit, "# Submits every step as a job array (Slurm's MaxArraySize, 1001 by default, caps a step);");
    let _ = writeln!(submit, "# prints the job id of each step, the last one's last.");
    let _ = writeln!(submit, "set -euo pipefail\ncd \"$(dirname \"$0\")\"\nmkdir -p logs");
    for (name, value) in [
        ("MATTEBOX", binary),
        ("MATTEBOX_EPISODE", episode.path.as_path()),
        ("MATTEBOX_OUTPUT_DIR", episode.output.as_path()),
        ("MATTEBOX_CACHE_DIR", cache_dir),
    ] {
        let value = in_double_quotes(&value.display().to_string());
        let _ = writeln!(submit, "export {name}=\"${{{name}:-{value}}}\"");
    }
    for step in &job.steps {
        let name = step.kind.name();
        let mut batch = String::new();
        let _ = writeln!(batch, "#!/bin/bash");
        let _ = writeln!(batch, "#SBATCH --job-name=mattebox-{name}");
        let _ = writeln!(batch, "#SBATCH --cpus-per-task={cpus_per_task}");
        let _ = writeln!(batch, "# Task SLURM_ARRAY_TASK_ID of step {name}: line N of {name}.tasks.");
        let _ = writeln!(batch, "set -euo pipefail");
        let _ = writeln!(batch, "task=$(sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" \"$SLURM_SUBMIT_DIR/{name}.tasks\")");
        let _ = writeln!(
            batch,
            "exec \"$MATTEBOX\" --progress=openjd farm task \"$MATTEBOX_EPISODE\" {name} \"$task\" --output-dir \"$MATTEBOX_OUTPUT_DIR\""
        );
        files.push((format!("{name}.sbatch"), batch));
        files.push((format!("{name}.tasks"), step.tasks.iter().map(|t| format!("{t}\n")).collect()));
        let dependency = match step.depends_on.first() {
            Some(before) if step.element_wise => format!(" --dependency=aftercorr:${}", before.name()),
            Some(_) => {
                let ids: Vec<String> = step.depends_on.iter().map(|b| format!("${}", b.name())).collect();
                format!(" --dependency=afterok:{}", ids.join(":"))
            }
            None => String::new(),
        };
        let _ = writeln!(
            submit,
            "{name}=$(sbatch --parsable{dependency} --kill-on-invalid-dep=yes --array=1-{} --output=logs/{name}-%a.out {name}.sbatch)",
            step.tasks.len()
        );
        let _ = writeln!(submit, "echo \"{name} ${name}\"");
    }
    files.insert(0, ("submit.sh".to_owned(), submit));
    files
}

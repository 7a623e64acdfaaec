//! An episode on real farm engines: `mattebox farm openjd` run step by step
//! by Open Job Description's own CLI (`openjd check`, `openjd run`: the
//! session library Deadline Cloud workers use; installed by `.ci/setup`),
//! and `mattebox farm slurm` submitted to a one-node Slurm cluster started
//! here on private ports (Debian's slurm-wlm and munge; needs root, as
//! slurmd does). Both make the same deliveries: 320x180, 2 s shots, one
//! retimed to 48 fps in chunks, one a noisy green-screen plate keyed over
//! its take (with the plate's sound).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ffmpeg, json_ok};

mod common;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mattebox(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mattebox")).args(args.iter().map(|a| a.as_ref())).output().unwrap()
}

/// An episode of two shots in `dir`: s01 (two takes, retimed to 48 fps)
/// and s02 (a plate keyed over the take, then retimed).
fn episode(dir: &Path) -> PathBuf {
    let plate = dir.join("plate.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x20c040:s=320x180:r=24:d=2,noise=alls=8:allf=t",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=80x120:r=24:d=2",
        "-f",
        "lavfi",
        "-i",
        "sine=f=300:r=48000:d=2",
        "-filter_complex",
        "[0][1]overlay=x='100+t*20':y=40[v]",
        "-map",
        "[v]",
        "-map",
        "2",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        plate.to_str().unwrap(),
    ]);
    let path = dir.join("episode.toml");
    std::fs::write(
        &path,
        "name = \"pilot\"\noutput = \"renders\"\n[defaults]\nsize = \"320x180\"\nduration = \"2\"\ndeliver_fps = \"48\"\n\
         [[shots]]\nid = \"s01\"\nprompt = \"a desert at dusk\"\ncamera = \"pan=0.4\"\nseed = 3\ntakes = 2\n\
         [[shots]]\nid = \"s02\"\nprompt = \"a city at night\"\nplate = \"plate.mp4\"\ntrack_camera = true\n",
    )
    .unwrap();
    path
}

/// (codec type, frames) of each stream of `path`.
fn streams(path: &Path) -> Vec<(String, u64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (kind, n) = l.split_once(',')?;
            Some((kind.to_owned(), n.trim().parse().unwrap_or(0)))
        })
        .collect()
}

/// The deliveries and the scores every engine must leave.
fn check_deliveries(out: &Path) {
    for name in ["s01-take-1.mp4", "s01-take-2.mp4", "s02-take-1.mp4"] {
        let s = streams(&out.join(name));
        assert_eq!(s.first(), Some(&("video".to_owned(), 96)), "{name}: 2 s at 48 fps: {s:?}");
        assert_eq!(s.iter().any(|(k, _)| k == "audio"), name.starts_with("s02"), "{name}: the plate's sound: {s:?}");
    }
    // Each take scored in a task of its own, compared across the episode
    // as if scored together.
    let scores: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("scores.json")).unwrap()).unwrap();
    assert_eq!(scores["shots"].as_array().unwrap().len(), 3);
    assert_eq!(scores["episode"]["matrix"].as_array().map(Vec::len), Some(3), "{}", scores["episode"]);
    let together = json_ok(&mattebox(&[
        &"--json",
        &"score",
        &out.join("s01-take-1.mp4"),
        &out.join("s01-take-2.mp4"),
        &out.join("s02-take-1.mp4"),
    ]));
    assert_eq!(scores["episode"], together["episode"], "merged as if scored together");
    assert!(out.join("scores/s02-take-1.html").is_file());
    // The plate's camera, tracked once, for 48 plate frames.
    let track: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("s02/camera-track.json")).unwrap()).unwrap();
    assert_eq!(track["frames"].as_array().map(Vec::len), Some(48));
    // Nothing staged is left behind anywhere.
    let mut todo = vec![out.to_owned()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".partial"), "{} was left", e.path().display());
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
        }
    }
}

fn openjd() -> PathBuf {
    let path = std::env::var_os("MATTEBOX_OPENJD")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/tools/openjd/bin/openjd"));
    assert!(path.exists(), "{} is missing: run `bash .ci/setup` (it installs openjd-cli)", path.display());
    path
}

#[test]
fn an_episode_runs_step_by_step_in_open_job_description_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let episode = episode(dir.path());
    let (job, cache) = (dir.path().join("job.yaml"), dir.path().join("cache"));
    let doc = json_ok(&mattebox(&[&"--json", &"farm", &"openjd", &episode, &"-o", &job, &"--chunk-frames", &"40"]));
    let steps: Vec<&str> =
        doc["farm"]["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["generate", "track", "composite", "retime", "deliver", "score", "report"]);
    // The plate's camera tracked once; its 48 frames in chunks of 40; 96
    // retimed frames per take, three takes.
    assert_eq!(doc["farm"]["steps"][1]["tasks"], serde_json::json!(["s02"]));
    assert_eq!(doc["farm"]["steps"][2]["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(doc["farm"]["steps"][3]["tasks"].as_array().unwrap().len(), 9);
    // OpenJD takes path defaults only inside the template's directory; the
    // user's take cache is not, so it is given at submission.
    assert_eq!(doc["farm"]["parameters_to_give"], serde_json::json!(["CacheDir"]));
    let check = Command::new(openjd()).arg("check").arg(&job).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let run = |step: &str| {
        let out = Command::new(openjd())
            .args(["run", "--step", step, "-p"])
            .arg(format!("CacheDir={}", cache.display()))
            .arg(&job)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success() && log.contains("Session ended successfully"), "step {step}:\n{log}");
        log
    };
    for step in steps {
        let log = run(step);
        if step == "retime" {
            // The session read the command's progress lines.
            assert!(log.contains("openjd_progress: 100.0"), "{log}");
        }
    }
    check_deliveries(&dir.path().join("renders"));
    // A generate task run again is served from the take cache.
    let again = run("generate");
    assert_eq!(again.matches("from the take cache").count(), 3, "{again}");
}

/// A one-node Slurm cluster in a directory of its own, on free ports;
/// its daemons are stopped when it is dropped.
struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Slurm {
    fn start(dir: &Path) -> Slurm {
        for daemon in ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd"] {
            assert!(Path::new(daemon).exists(), "{daemon} is missing: run `bash .ci/setup` (slurm-wlm, munge)");
        }
        let dir = dir.to_owned();
        for sub in ["state", "spool", "log", "munge"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("munge"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let key = dir.join("munge/munge.key");
        let mut bytes = [0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut bytes).unwrap();
        std::fs::write(&key, bytes).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        let socket = dir.join("munge/munge.sock");
        let status = Command::new("/usr/sbin/munged")
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("munge/munged.pid").display()))
            .arg(format!("--log-file={}", dir.join("munge/munged.log").display()))
            .arg(format!("--seed-file={}", dir.join("munge/seed").display()))
            .arg("--force")
            .status()
            .unwrap();
        assert!(status.success(), "munged did not start");
        let host = String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout).unwrap();
        let host = host.trim();
        let cpus = std::thread::available_parallelism().unwrap().get();
        let d = dir.display();
        let conf = dir.join("slurm.conf");
        std::fs::write(
            &conf,
            format!(
                "ClusterName=mattebox\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={}\nSlurmdPort={}\n\
                 AuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\nStateSaveLocation={d}/state\n\
                 SlurmdSpoolDir={d}/spool\nSlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\nSlurmUser=root\n\
                 SlurmdUser=root\nProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
                 SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n\
                 ReturnToService=2\nMpiDefault=none\nNodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                free_port(),
                free_port(),
                socket.display()
            ),
        )
        .unwrap();
        let slurm = Slurm { dir, conf };
        for daemon in ["/usr/sbin/slurmctld", "/usr/sbin/slurmd"] {
            let status = Command::new(daemon).arg("-f").arg(&slurm.conf).status().unwrap();
            assert!(status.success(), "{daemon} did not start: {}", slurm.logs());
        }
        // Ready when the node is idle (the daemons start in well under a second).
        slurm.wait_until("the node to be idle", || {
            let out = slurm.command("sinfo").args(["-h", "-o", "%t"]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim() == "idle"
        });
        slurm
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Polls `done` (a real condition of the cluster) for up to 110 s.
    fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(110), "waited 110 s for {what}:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self) -> String {
        ["log/slurmctld.log", "log/slurmd.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        for pid_file in ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"] {
            if let Ok(pid) = std::fs::read_to_string(self.dir.join(pid_file)) {
                let _ = Command::new("kill").arg(pid.trim()).stderr(Stdio::null()).status();
            }
        }
    }
}

#[test]
fn an_episode_runs_as_slurm_job_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let episode = episode(dir.path());
    let (job, cache) = (dir.path().join("slurm-job"), dir.path().join("cache"));
    json_ok(&mattebox(&[
        &"--json",
        &"--cache-dir",
        &cache,
        &"farm",
        &"slurm",
        &episode,
        &"-o",
        &job,
        &"--chunk-frames",
        &"40",
        &"--cpus-per-task",
        &"1",
    ]));
    let slurm = Slurm::start(&dir.path().join("cluster"));
    let submitted = slurm.command("bash").arg(job.join("submit.sh")).output().unwrap();
    let text = String::from_utf8_lossy(&submitted.stdout).into_owned();
    assert!(submitted.status.success(), "{text}{}", String::from_utf8_lossy(&submitted.stderr));
    assert_eq!(text.lines().count(), 7, "one job array per step: {text}");
    slurm.wait_until("the job to finish", || {
        let out = slurm.command("squeue").arg("-h").output().unwrap();
        out.status.success() && out.stdout.is_empty()
    });
    let logs: Vec<_> = std::fs::read_dir(job.join("logs")).unwrap().flatten().collect();
    assert_eq!(logs.len(), 3 + 1 + 2 + 9 + 3 + 3 + 1, "every task ran");
    // A task granted one CPU runs on one thread (the node has more, and
    // this cluster does not confine tasks: only SLURM_CPUS_PER_TASK says so).
    let generate = std::fs::read_to_string(job.join("logs/generate-1.out")).unwrap();
    assert!(generate.contains("--threads=1 "), "{generate}");
    check_deliveries(&dir.path().join("renders"));
}

/// A container or a Slurm node confining a task with a CPU quota (half a
/// core here, in a cgroup made for the test: v2's `cpu.max` or v1's
/// `cpu.cfs_quota_us`, whichever this machine mounts; needs root) gets one
/// worker thread, not one per core of the machine.
#[test]
fn the_default_threads_follow_the_cgroup_cpu_quota() {
    let name = format!("mattebox-test-{}", std::process::id());
    let (group, quota): (PathBuf, Vec<(&str, &str)>) = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        && std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default().contains("cpu")
    {
        (Path::new("/sys/fs/cgroup").join(&name), vec![("cpu.max", "50000 100000")])
    } else {
        (
            Path::new("/sys/fs/cgroup/cpu").join(&name),
            vec![("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "50000")],
        )
    };
    std::fs::create_dir(&group)
        .unwrap_or_else(|e| panic!("cannot make the cgroup {} (this test needs root): {e}", group.display()));
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _remove = Remove(group.clone());
    for (file, value) in quota {
        std::fs::write(group.join(file), value).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let still = dir.path().join("still.png");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=64x36", "-frames:v", "1", still.to_str().unwrap()]);
    let threads = |confined: bool| {
        let script = if confined {
            format!("echo $$ > {}/cgroup.procs && exec \"$0\" -vv info \"$1\"", group.display())
        } else {
            "exec \"$0\" -vv info \"$1\"".to_owned()
        };
        let out =
            Command::new("sh").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_mattebox")).arg(&still).output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let n = log.split("threads=").nth(1).and_then(|t| t.split_whitespace().next()?.parse::<usize>().ok());
        n.unwrap_or_else(|| panic!("no thread count in the log:\n{log}"))
    };
    assert_eq!(threads(true), 1, "half a core's quota");
    assert_eq!(threads(false), std::thread::available_parallelism().unwrap().get());
}

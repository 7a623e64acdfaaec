//! `mattebox plugin`: check, install and list generator adapters.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use mattebox_core::generate::Generator;
use mattebox_core::generate::{AdapterSettings, Setting, default_settings_dir};
use mattebox_sandbox::{
    Location, Manifest, WasmAdapter, default_plugin_dir, install, installed, not_bundled, policy_from_env,
};
use serde_json::json;

use crate::report::{CliError, Report};

#[derive(Debug, Args)]
#[command(after_help = "\
An adapter is a directory with adapter.toml and its WebAssembly component.
Installed adapters live in $MATTEBOX_PLUGIN_DIR (default
~/.local/share/mattebox/plugins); `generate --adapter ID` runs only an
installed adapter. Secrets come from MATTEBOX_SECRET_<NAME> and go only to
the origins the manifest binds them to; MATTEBOX_ALLOW_ADDRESSES lists
private addresses adapters may reach. MATTEBOX_SANDBOX_MEMORY_MIB,
_DEADLINE_SECONDS, _RESPONSE_MIB, _LOG_KIB, _CONCURRENT and _FRAMES cap what
any manifest may ask for. What the sandbox guarantees: plugins/README.md.")]
pub(crate) struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Load an adapter in the sandbox and show its manifest and capabilities.
    Check {
        /// The adapter's directory (or its adapter.toml).
        path: PathBuf,
    },
    /// Check an adapter, then install it.
    Install {
        /// The adapter's directory (or its adapter.toml).
        path: PathBuf,
        /// Replace an installed adapter with the same id.
        #[arg(short = 'y', long)]
        overwrite: bool,
    },
    /// List installed adapters.
    List,
    /// Show or change an adapter's settings: extras every request to it gets
    /// unless it gives its own (KEY=VALUE, or KEY=@FILE for a file read at
    /// each request). A server address set here for a key the adapter's
    /// manifest names (ComfyUI's `server`) is the only way it may reach a
    /// private or loopback address.
    Config {
        /// The adapter's id (`mattebox plugin list`).
        id: String,
        /// Settings to make, KEY=VALUE or KEY=@FILE.
        #[arg(value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// Settings to remove (repeatable).
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
    },
}

fn describe(text: &mut String, adapter: &WasmAdapter) -> serde_json::Value {
    let m: &Manifest = adapter.manifest();
    let info = adapter.info();
    let honours: Vec<&str> = info.honours.iter().map(|f| f.name()).collect();
    let policy_secrets: Vec<String> =
        m.secrets.iter().map(|g| format!("{} (to {})", g.name, g.origins.join(", "))).collect();
    let _ = writeln!(text, "{} {} ({})", m.id, m.version, info.name);
    let world = adapter.world();
    let older = if world.starts_with("mattebox:generator@0.1.") {
        " (run through the 0.1 world: no source video, sound or vendor ids)"
    } else {
        ""
    };
    let _ = writeln!(text, "  contract: {world}{older}");
    let _ = writeln!(text, "  honours:  {}", if honours.is_empty() { "nothing".into() } else { honours.join(", ") });
    let origins = if m.network.origins.is_empty() { "none".into() } else { m.network.origins.join(", ") };
    let _ = writeln!(text, "  network:  {origins}");
    let secrets = if policy_secrets.is_empty() { "none".into() } else { policy_secrets.join(", ") };
    let _ = writeln!(text, "  secrets:  {secrets}");
    let l = adapter.limits();
    let _ = writeln!(
        text,
        "  limits:   {} MiB memory, {} s per take, {} takes at once, {} MiB per response, {} KiB of log",
        l.memory_mib, l.deadline_seconds, l.concurrent, l.response_mib, l.log_kib
    );
    json!({ "manifest": m, "world": world, "honours": honours, "limits": l })
}

pub(crate) fn run(args: PluginArgs) -> Result<Report, CliError> {
    let plugins = default_plugin_dir();
    let policy = policy_from_env().map_err(CliError::usage_from)?;
    let mut text = String::new();
    match args.command {
        PluginCommand::Check { path } => {
            let adapter = WasmAdapter::load(&path, &policy)?;
            let doc = describe(&mut text, &adapter);
            let _ = writeln!(
                text,
                "ok: the component implements {} and describes itself as its manifest says",
                adapter.world()
            );
            Ok(Report { text, json: json!({ "adapter": doc }) })
        }
        PluginCommand::Install { path, overwrite } => {
            let adapter = install(&path, &plugins, &policy, overwrite)?;
            let doc = describe(&mut text, &adapter);
            let id = &adapter.manifest().id;
            let _ = writeln!(text, "installed in {}", plugins.join(id).display());
            let (found, _) = installed(&plugins);
            if let Some(shipped) =
                found.iter().find(|i| i.location == Location::Bundled && &i.manifest.id == id && i.in_use)
            {
                let _ = writeln!(
                    text,
                    "note: Mattebox ships {id} {}, which stays in use; an installed copy is used only when its version \
                     is newer",
                    shipped.manifest.version
                );
            }
            Ok(Report { text, json: json!({ "adapter": doc, "dir": plugins.join(id) }) })
        }
        PluginCommand::Config { id, settings, unset } => configure(&plugins, &id, &settings, &unset),
        PluginCommand::List => {
            let (found, broken) = installed(&plugins);
            let _ = writeln!(text, "adapters (installed ones in {}):", plugins.display());
            let _ = writeln!(text, "  builtin  (offline, always installed)");
            let mut list = Vec::new();
            for i in &found {
                let m = &i.manifest;
                let network = if m.network.origins.is_empty() { "none".into() } else { m.network.origins.join(", ") };
                let (from, place) = match &i.location {
                    Location::Bundled => ("shipped with Mattebox".to_owned(), serde_json::Value::Null),
                    Location::Folder(dir) => (dir.display().to_string(), json!(dir)),
                };
                let unused = match (&i.location, i.in_use) {
                    (_, true) => "",
                    (Location::Bundled, false) => "  (not in use: an installed copy is newer)",
                    (Location::Folder(_), false) => "  (not in use: the shipped version is the same or newer)",
                };
                let _ = writeln!(text, "  {} {}  {}  [{from}]  network: {network}{unused}", m.id, m.version, m.name);
                list.push(json!({ "manifest": m, "dir": place, "bundled": i.location == Location::Bundled, "in_use": i.in_use }));
            }
            for name in not_bundled() {
                let _ =
                    writeln!(text, "  ({name} is not in this build: run `bash .ci/setup`, then build Mattebox again)");
            }
            for e in &broken {
                let _ = writeln!(text, "  (unreadable) {e}");
            }
            let errors: Vec<String> = broken.iter().map(|e| e.to_string()).collect();
            Ok(Report {
                text,
                json: json!({ "dir": plugins, "adapters": list, "unreadable": errors, "not_built": not_bundled() }),
            })
        }
    }
}

/// `mattebox plugin config ID [KEY=VALUE...] [--unset KEY...]`.
fn configure(plugins: &std::path::Path, id: &str, changes: &[String], unset: &[String]) -> Result<Report, CliError> {
    mattebox_core::generate::check_adapter_id(id).map_err(CliError::usage_from)?;
    let (found, _) = installed(plugins);
    let Some(adapter) = found.into_iter().find(|i| i.in_use && i.manifest.id == id) else {
        return Err(CliError::usage(format!(
            "no adapter {id:?} is installed; `mattebox plugin list` shows the installed ones"
        )));
    };
    let dir = default_settings_dir()
        .ok_or_else(|| CliError::usage("no settings directory: set MATTEBOX_CONFIG_DIR or HOME"))?;
    let mut settings = AdapterSettings::load(&dir, id)?;
    for change in changes {
        let (key, value) = change
            .split_once('=')
            .map(|(k, v)| (k.trim(), v))
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| CliError::usage(format!("{change:?} is not KEY=VALUE")))?;
        let setting = if let Some(literal) = value.strip_prefix("@@") {
            Setting::Text(format!("@{literal}"))
        } else if let Some(file) = value.strip_prefix('@') {
            let file = std::path::absolute(file).map_err(|e| CliError::usage(format!("{key}=@{file}: {e}")))?;
            if !file.is_file() {
                return Err(CliError::usage(format!(
                    "{key}=@{}: no such file; give the path of a file whose text the adapter gets at each request",
                    file.display()
                )));
            }
            Setting::File { file }
        } else {
            Setting::Text(value.to_owned())
        };
        adapter.manifest.check_setting(key, &setting).map_err(CliError::usage_from)?;
        settings.extras.insert(key.to_owned(), setting);
    }
    for key in unset {
        settings.extras.remove(key.as_str());
    }
    let path = if changes.is_empty() && unset.is_empty() {
        dir.join(format!("{id}.toml"))
    } else {
        settings.save(&dir, id)?
    };
    let mut text = String::new();
    let _ = writeln!(text, "settings of {id} ({}):", path.display());
    if settings.extras.is_empty() {
        let _ = writeln!(text, "  none");
    }
    for (key, setting) in &settings.extras {
        let shown = match setting {
            Setting::Text(t) => t.clone(),
            Setting::File { file } => format!("the text of {} (read at each request)", file.display()),
        };
        let server = if adapter.manifest.network.server_extras.iter().any(|k| k == key) {
            "  (a server this adapter may reach)"
        } else {
            ""
        };
        let _ = writeln!(text, "  {key} = {shown}{server}");
    }
    Ok(Report { text, json: json!({ "id": id, "file": path, "settings": settings }) })
}

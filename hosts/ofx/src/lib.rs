//! `Mattebox.ofx`: the OpenFX image effect plugins of the Mattebox core,
//! for DaVinci Resolve, Nuke, Fusion and Natron.
//!
//! Two symbols are exported, as the OFX specification asks:
//! `OfxGetNumberOfPlugins` and `OfxGetPlugin`. Every action runs behind a
//! panic boundary (`plugin::main_entry`); the bindings to the host's API
//! are our own (`sys`), under a safe layer (`host`).

mod adapters;
mod composite;
mod consistency;
mod describe;
mod fields;
mod generate;
mod host;
mod plugin;
mod retime;
mod sys;

use std::ffi::{c_int, c_void};

use sys::{OfxHost, OfxPlugin, OfxPropertySetHandle, OfxStatus};

/// Bumped whenever an effect's description changes: hosts cache
/// descriptions by identifier and version.
const VERSION_MAJOR: u32 = 1;
const VERSION_MINOR: u32 = 7;

unsafe extern "C" fn set_host(host: *mut OfxHost) {
    host::set_host(host);
}

/// The main entry of one effect: the host's arguments, passed through
/// unchanged to the dispatcher for `$plugin`.
macro_rules! entry {
    ($name:ident, $plugin:ty) => {
        unsafe extern "C" fn $name(
            action: *const std::ffi::c_char,
            handle: *const c_void,
            in_args: OfxPropertySetHandle,
            out_args: OfxPropertySetHandle,
        ) -> OfxStatus {
            // SAFETY: the host's arguments, passed through unchanged.
            unsafe { plugin::main_entry::<$plugin>(action, handle, in_args, out_args) }
        }
    };
}

entry!(retime_entry, retime::Retime);
entry!(composite_entry, composite::Composite);
entry!(consistency_entry, consistency::Consistency);
entry!(generate_entry, generate::Generate);

const fn table_entry(identifier: &'static std::ffi::CStr, main: sys::OfxPluginEntryPoint) -> OfxPlugin {
    OfxPlugin {
        pluginApi: sys::kOfxImageEffectPluginApi.as_ptr(),
        apiVersion: 1,
        pluginIdentifier: identifier.as_ptr(),
        pluginVersionMajor: VERSION_MAJOR,
        pluginVersionMinor: VERSION_MINOR,
        setHost: Some(set_host),
        mainEntry: Some(main),
    }
}

/// The plugin table. `OfxPlugin` holds raw pointers to static strings and
/// functions, which never change: sharing it between threads is sound.
struct Table([OfxPlugin; 4]);
// SAFETY: see above.
unsafe impl Sync for Table {}

static PLUGINS: Table = Table([
    table_entry(c"io.mattebox.Retime", retime_entry),
    table_entry(c"io.mattebox.Composite", composite_entry),
    table_entry(c"io.mattebox.Consistency", consistency_entry),
    table_entry(c"io.mattebox.Generate", generate_entry),
]);

/// How many plugins the bundle holds.
#[unsafe(no_mangle)]
pub extern "C" fn OfxGetNumberOfPlugins() -> c_int {
    PLUGINS.0.len() as c_int
}

/// Plugin `nth`, or NULL outside 0..OfxGetNumberOfPlugins().
#[unsafe(no_mangle)]
pub extern "C" fn OfxGetPlugin(nth: c_int) -> *mut OfxPlugin {
    match usize::try_from(nth).ok().and_then(|i| PLUGINS.0.get(i)) {
        // The host takes a mutable pointer by the specification's signature
        // but never writes through it.
        Some(plugin) => plugin as *const OfxPlugin as *mut OfxPlugin,
        None => std::ptr::null_mut(),
    }
}

//! A shared library that, preloaded into a process (`LD_PRELOAD`), makes every `flock(2)`
//! fail with the errno named in [`FLOCK_ERRNO_VARIABLE`], as on a file system that does not
//! support it (Lustre mounted without `flock`: ENOSYS; NFS without a lock daemon: ENOLCK;
//! some FUSE and SMB mounts: EOPNOTSUPP). std's `File::try_lock` calls the C library's
//! `flock` on Linux, so the shim reaches it in any dynamically linked binary: the test
//! binaries and `tapis`.
//!
//! The library is compiled from the C source below with `cc`, once per process, next to the
//! test binary (`target/<profile>/deps/tapis-flock-shim/`). Without a C compiler the tests
//! that need it fail with a message saying so; none is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable the shim reads: `ENOSYS`, `ENOLCK`, `EOPNOTSUPP` or `ENOTSUP`.
/// Unset, `flock` fails with ENOSYS; any other value makes `flock` abort the process, so a
/// typo cannot pass for a working test.
pub const FLOCK_ERRNO_VARIABLE: &str = "TAPIS_TEST_FLOCK_ERRNO";

/// The errnos with which a file system refuses `flock`, by name, for [`FLOCK_ERRNO_VARIABLE`].
pub const FLOCK_ERRNOS: [&str; 3] = ["ENOSYS", "ENOLCK", "EOPNOTSUPP"];

const SOURCE: &str = r#"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int flock(int fd, int operation) {
    (void)fd;
    (void)operation;
    const char *name = getenv("TAPIS_TEST_FLOCK_ERRNO");
    int code = ENOSYS;
    if (name != NULL) {
        if (strcmp(name, "ENOSYS") == 0) code = ENOSYS;
        else if (strcmp(name, "ENOLCK") == 0) code = ENOLCK;
        else if (strcmp(name, "EOPNOTSUPP") == 0) code = EOPNOTSUPP;
        else if (strcmp(name, "ENOTSUP") == 0) code = ENOTSUP;
        else abort();
    }
    errno = code;
    return -1;
}
"#;

/// The path of the compiled shim (built on first use in this process).
///
/// # Panics
///
/// When `cc` is missing or the compilation fails, with the reason.
pub fn flock_shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(build)
}

/// Sets `LD_PRELOAD` to the shim and [`FLOCK_ERRNO_VARIABLE`] to `errno` on `command`.
pub fn fail_flock_with<'command>(command: &'command mut Command, errno: &str) -> &'command mut Command {
    command.env("LD_PRELOAD", flock_shim()).env(FLOCK_ERRNO_VARIABLE, errno)
}

fn build() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let folder = exe.parent().expect("the test binary's folder").join("tapis-flock-shim");
    std::fs::create_dir_all(&folder).expect("create the shim's folder");
    // Built under names of this process's own and renamed into place, so that test binaries
    // building it at the same moment do not write into each other's file.
    let pid = std::process::id();
    let source = folder.join(format!("flock_shim.{pid}.c"));
    let building = folder.join(format!("flock_shim.{pid}.so.tmp"));
    let library = folder.join("flock_shim.so");
    std::fs::write(&source, SOURCE).expect("write the shim's source");
    let compiled = Command::new("cc").args(["-shared", "-fPIC", "-O1", "-o"]).arg(&building).arg(&source).output();
    let _ = std::fs::remove_file(&source);
    match compiled {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "the lock-folder tests need a C compiler to build their flock shim, and `cc` was not found: install gcc (or clang as cc)"
        ),
        Err(error) => panic!("cannot run `cc` to build the flock shim: {error}"),
        Ok(output) if !output.status.success() => {
            panic!(
                "`cc` could not build the flock shim ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        }
        Ok(_) => {}
    }
    std::fs::rename(&building, &library).expect("put the shim in place");
    library
}

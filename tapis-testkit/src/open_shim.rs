//! A shared library that, preloaded into a process (`LD_PRELOAD`), makes opening one path
//! fail with a chosen errno, as a flaky NFS or Lustre mount does (EIO, ESTALE), or as a folder
//! this user may not write to does when a file is created in it (EACCES). Every other open
//! goes through to the C library. It wraps `open`, `open64`, `openat` and `openat64`, which
//! std's `File::open` reaches on Linux, so it works in the test binaries and in `tapis`.
//!
//! The library is compiled from the C source below with `cc`, once per process, next to the
//! test binary (`target/<profile>/deps/tapis-open-shim/`). Without a C compiler the tests
//! that need it fail with a message saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Which opens of the path fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailingOpen {
    /// Opening it for reading only (a read of the token file).
    Read,
    /// Opening it with `O_CREAT` (creating a lock file).
    Create,
}

const SOURCE: &str = r#"
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int should_fail(const char *path, int flags) {
    const char *target = getenv("TAPIS_TEST_OPEN_FAIL_PATH");
    if (target == NULL || path == NULL || strcmp(path, target) != 0) return 0;
    const char *when = getenv("TAPIS_TEST_OPEN_FAIL_WHEN");
    if (when != NULL && strcmp(when, "create") == 0) return (flags & O_CREAT) != 0;
    return (flags & O_ACCMODE) == O_RDONLY;
}

static int failure(void) {
    const char *name = getenv("TAPIS_TEST_OPEN_FAIL_ERRNO");
    if (name == NULL || strcmp(name, "EIO") == 0) return EIO;
    if (strcmp(name, "ESTALE") == 0) return ESTALE;
    if (strcmp(name, "EACCES") == 0) return EACCES;
    abort();
}

static mode_t mode_of(int flags, va_list args) {
    if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) return va_arg(args, mode_t);
    return 0;
}

#define WRAP_OPEN(name)                                                        \
    int name(const char *path, int flags, ...) {                              \
        va_list args;                                                          \
        va_start(args, flags);                                                 \
        mode_t mode = mode_of(flags, args);                                    \
        va_end(args);                                                          \
        if (should_fail(path, flags)) { errno = failure(); return -1; }        \
        int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, #name);         \
        return real(path, flags, mode);                                        \
    }

#define WRAP_OPENAT(name)                                                      \
    int name(int folder, const char *path, int flags, ...) {                  \
        va_list args;                                                          \
        va_start(args, flags);                                                 \
        mode_t mode = mode_of(flags, args);                                    \
        va_end(args);                                                          \
        if (should_fail(path, flags)) { errno = failure(); return -1; }        \
        int (*real)(int, const char *, int, ...) = dlsym(RTLD_NEXT, #name);    \
        return real(folder, path, flags, mode);                                \
    }

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
"#;

/// Makes `command` fail every open of `path` of the kind `which` with `errno` (`EIO`,
/// `ESTALE` or `EACCES`; any other name makes the shim abort the process, so a typo cannot
/// pass for a working test). `path` must be spelled as the process will open it.
pub fn fail_open_with<'command>(
    command: &'command mut Command,
    path: &Path,
    errno: &str,
    which: FailingOpen,
) -> &'command mut Command {
    let when = match which {
        FailingOpen::Read => "read",
        FailingOpen::Create => "create",
    };
    command
        .env("LD_PRELOAD", open_shim())
        .env("TAPIS_TEST_OPEN_FAIL_PATH", path)
        .env("TAPIS_TEST_OPEN_FAIL_ERRNO", errno)
        .env("TAPIS_TEST_OPEN_FAIL_WHEN", when)
}

/// The path of the compiled shim (built on first use in this process).
///
/// # Panics
///
/// When `cc` is missing or the compilation fails, with the reason.
pub fn open_shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let test_binary = std::env::current_exe().expect("the test binary's path");
        let folder = test_binary.parent().expect("its folder").join("tapis-open-shim");
        compile(&folder)
    })
}

/// Compiles the shim into `folder` under a name of this process's own, then renames it into
/// place, so that test binaries building it at once never write into each other's file.
fn compile(folder: &Path) -> PathBuf {
    std::fs::create_dir_all(folder).expect("create the open shim's folder");
    let own = format!("open_shim.{}", std::process::id());
    let (source, output) = (folder.join(format!("{own}.c")), folder.join(format!("{own}.so")));
    std::fs::write(&source, SOURCE).expect("write the open shim's source");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O0", "-U_FORTIFY_SOURCE", "-o"])
        .arg(&output)
        .arg(&source)
        .arg("-ldl")
        .output()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "`cc` was not found: install gcc (or clang as cc)".to_owned(),
            _ => format!("cannot run `cc`: {error}"),
        });
    let _ = std::fs::remove_file(&source);
    match status {
        Err(reason) => panic!("the unreadable-file tests need a C compiler for their open shim; {reason}"),
        Ok(compiled) if !compiled.status.success() => panic!(
            "`cc` could not build the open shim ({}):\n{}",
            compiled.status,
            String::from_utf8_lossy(&compiled.stderr)
        ),
        Ok(_) => {}
    }
    let library = folder.join("open_shim.so");
    std::fs::rename(&output, &library).expect("put the open shim in place");
    library
}

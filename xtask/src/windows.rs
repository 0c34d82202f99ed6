//! What `cargo xtask dist` checks of the Windows files (`x86_64-pc-windows-gnu`, linked by
//! mingw), none of which a Windows machine is needed for:
//!
//! - `tapis.exe` and the wheel's `_native.pyd` import no DLL beyond Windows' own
//!   ([`SYSTEM_DLLS`]; the C runtime is linked in or is Windows' `msvcrt.dll`), the module
//!   `python3.dll` besides (the stable ABI, any Python from 3.9 on), read with
//!   `x86_64-w64-mingw32-objdump -p`;
//! - `tapis.exe` runs under wine (the prefix of `cross.rs`): `--version`, `--help`, then a
//!   first login with `--password-stdin` against a [`tapis_testkit::MockTapis`] on loopback
//!   (three requests, each counted), then `tapis token`, which prints the saved token and
//!   makes no request;
//! - the `win_amd64` wheel carries the tag `cp39-abi3-win_amd64`, the Python package, the
//!   extension module as `.pyd`, and among its scripts the very `tapis.exe` of the zip.
//!
//! What is not checked here: the `.pyd` imported by a Windows Python (there is none here,
//! and wine runs no Python from PyPI's wheels without one); the release workflow's Windows
//! runner runs the Python tests against its own wheel.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cross::ensure_wine_prefix;
use crate::output_of;

/// The workspace version, which the binary and the wheel carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// wine's 64-bit loader, as Debian's `wine64` installs it.
const WINE: &str = "/usr/lib/wine/wine64";

/// The DLLs every Windows has, which a shipped binary may import (compared without case).
/// `api-ms-win-*` (the API sets) are Windows' own too.
const SYSTEM_DLLS: &[&str] = &[
    "advapi32.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    // COM's core (Windows 8 on); the folder lookups free what they get with CoTaskMemFree.
    "combase.dll",
    "crypt32.dll",
    "dnsapi.dll",
    "iphlpapi.dll",
    "kernel32.dll",
    "msvcrt.dll",
    "ncrypt.dll",
    "ntdll.dll",
    "ole32.dll",
    "oleaut32.dll",
    "secur32.dll",
    "shell32.dll",
    "ucrtbase.dll",
    "user32.dll",
    "userenv.dll",
    "ws2_32.dll",
];

/// The one DLL the extension module imports beyond Windows' own: the stable ABI's.
const PYTHON_DLL: &str = "python3.dll";

/// The names a Windows binary imports DLLs by, from `objdump -p`'s import tables
/// (`\tDLL Name: KERNEL32.dll`).
fn imported_dlls(objdump: &str) -> Vec<String> {
    objdump
        .lines()
        .filter_map(|line| line.trim().strip_prefix("DLL Name:"))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Whether `dll` ships with Windows.
fn is_system_dll(dll: &str) -> bool {
    let dll = dll.to_ascii_lowercase();
    SYSTEM_DLLS.contains(&dll.as_str()) || dll.starts_with("api-ms-win-")
}

/// The DLLs among `imported` that are neither Windows' own nor in `also_allowed`.
fn foreign_dlls(imported: &[String], also_allowed: &[&str]) -> Vec<String> {
    let allowed = |dll: &String| is_system_dll(dll) || also_allowed.iter().any(|other| dll.eq_ignore_ascii_case(other));
    imported.iter().filter(|dll| !allowed(dll)).cloned().collect()
}

/// `file` (a PE executable or DLL) imports only Windows' DLLs and `also_allowed`; returns
/// what it imports.
fn check_imports(file: &Path, also_allowed: &[&str]) -> Result<Vec<String>, String> {
    let objdump = output_of(Command::new("x86_64-w64-mingw32-objdump").arg("-p").arg(file))
        .map_err(|error| format!("{error}\nfix: install mingw-w64 (its binutils read PE files)"))?;
    let imported = imported_dlls(&objdump);
    if imported.is_empty() {
        return Err(format!("{} imports no DLL at all: is it a PE file?", file.display()));
    }
    let foreign = foreign_dlls(&imported, also_allowed);
    if !foreign.is_empty() {
        return Err(format!(
            "{} needs DLLs that Windows does not have: {foreign:?}\nfix: link them statically (mingw's \
             libgcc and winpthread come as static libraries with -static)",
            file.display()
        ));
    }
    Ok(imported)
}

/// `tapis.exe` imports only Windows' DLLs, and runs under wine: `--version`, `--help`, and a
/// first login followed by `tapis token`.
pub(crate) fn check_tapis_exe(binary: &Path) -> Result<(), String> {
    let imported = check_imports(binary, &[])?;
    eprintln!("==> {}: imports {}", binary.display(), imported.join(", "));
    let prefix = ensure_wine_prefix()?;
    let said = output_of(wine(&prefix, binary).arg("--version"))?;
    if said != format!("tapis {VERSION}") {
        return Err(format!("`tapis.exe --version` under wine said {said:?}, expected `tapis {VERSION}`"));
    }
    let help = output_of(wine(&prefix, binary).arg("--help"))?;
    let missing: Vec<&str> =
        ["Usage:", "login", "token", "--token-file"].into_iter().filter(|word| !help.contains(word)).collect();
    if !missing.is_empty() {
        return Err(format!("`tapis.exe --help` under wine lacks {missing:?}:\n{help}"));
    }
    eprintln!("==> tapis.exe under wine: {said}; --help lists the verbs");
    check_login(&prefix, binary)
}

/// `wine64 PROGRAM` in `prefix`, with no `TAPIS_*` variable of whoever runs this.
fn wine(prefix: &Path, program: &Path) -> Command {
    let mut command = Command::new(WINE);
    command.arg(program).env_clear().env("WINEPREFIX", prefix).env("WINEDEBUG", "-all");
    for name in ["PATH", "HOME", "USER", "LANG"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

/// The path a Windows program under wine knows `path` by: wine's drive `Z:` is `/`.
fn wine_path(path: &Path) -> String {
    format!("Z:{}", path.display().to_string().replace('/', "\\"))
}

/// The end-to-end check with the cross-built binary: a first `tapis login --password-stdin`
/// against a mock Tapis on loopback makes the three requests of a first login (the grant, the
/// personal client, the grant through it), each once, and saves the token; `tapis token` then
/// prints that token from the file with no request.
fn check_login(prefix: &Path, binary: &Path) -> Result<(), String> {
    const USERNAME: &str = "jdoe";
    const PASSWORD: &str = "correct horse battery staple";
    let (client_id, client_key) = ("tapis-cli-windows", "client-key-windows");
    let mut mock = tapis_testkit::MockTapis::new();
    let exp = tapis_testkit::now_unix() + 4 * 3600;
    // Two different tokens: the one saved must be the grant's through the client.
    let first = mock.access_jwt(USERNAME, exp - 1);
    let access = mock.access_jwt(USERNAME, exp);
    let refresh = mock.refresh_jwt(USERNAME, exp + 3600, "refresh-windows");
    let grant = mock.password_grant(USERNAME, PASSWORD).without_client().answer_tokens(&first, exp - 1).expect(1);
    let client = mock.create_client().with_tapis_token(&first).answer_client(client_id, client_key, USERNAME).expect(1);
    let through_client = mock
        .password_grant(USERNAME, PASSWORD)
        .through_client(client_id, client_key)
        .answer_tokens_with_refresh(&access, exp, &refresh, exp + 3600)
        .expect(1);
    let scratch = tempfile::tempdir().map_err(|error| format!("cannot make a temporary folder: {error}"))?;
    let token_file = scratch.path().join("tokens.json");
    let tapis = |args: &[&str]| {
        let mut command = wine(prefix, binary);
        command
            .args(["--base-url", &mock.url(), "--token-file", &wine_path(&token_file)])
            .args(args)
            .env("NO_COLOR", "1")
            .env("TAPIS_HTTP_TIMEOUT", "20s");
        command
    };
    eprintln!("==> tapis.exe login --password-stdin under wine, against a mock Tapis");
    run_with_input(tapis(&["login", "--username", USERNAME, "--password-stdin"]), &format!("{PASSWORD}\n"))?;
    for expected in [grant, client, through_client] {
        expected.assert();
    }
    let saved = std::fs::read_to_string(&token_file)
        .map_err(|error| format!("tapis.exe login saved no token file {}: {error}", token_file.display()))?;
    let saved: serde_json::Value = serde_json::from_str(&saved)
        .map_err(|error| format!("tapis.exe login saved a token file that is not JSON ({error})"))?;
    if saved["access_token"] != access.as_str() {
        return Err("tapis.exe login saved another token than the one the grant through the client gave".to_owned());
    }
    let printed = run_with_input(tapis(&["token"]), "")?;
    mock.assert_no_strays();
    if printed.trim_end() != access {
        return Err("`tapis.exe token` did not print the saved token".to_owned());
    }
    eprintln!("==> tapis.exe under wine: logged in with 3 requests, then `tapis token` printed the saved token");
    Ok(())
}

/// Runs `command` with `input` on its stdin; its stdout, or its stderr and status when it fails.
fn run_with_input(mut command: Command, input: &str) -> Result<String, String> {
    let shown = crate::shown(&command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{shown}`: {error}\nfix: install wine64"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|error| format!("cannot write to `{shown}`: {error}"))?;
    }
    let output = child.wait_with_output().map_err(|error| format!("cannot wait for `{shown}`: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("`{shown}` failed ({}):\n{stderr}", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The files a `win_amd64` wheel must hold, with the `tapis.exe` it must carry.
fn wheel_must_hold() -> [String; 4] {
    [
        "tapis_connect/__init__.py".to_owned(),
        "tapis_connect/_native.pyd".to_owned(),
        format!("tapis_connect-{VERSION}.data/scripts/tapis.exe"),
        format!("tapis_connect-{VERSION}.dist-info/WHEEL"),
    ]
}

/// What is wrong with a Windows wheel, given its file list and its `WHEEL` metadata: a
/// missing file, a Linux file, another tag.
fn wheel_problems(listing: &str, wheel_metadata: &str) -> Vec<String> {
    let files: Vec<&str> = listing.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let mut problems: Vec<String> = wheel_must_hold()
        .into_iter()
        .filter(|wanted| !files.contains(&wanted.as_str()))
        .map(|wanted| format!("no {wanted}"))
        .collect();
    let unix_scripts = format!("tapis_connect-{VERSION}.data/scripts/tapis");
    for file in &files {
        if file.ends_with(".so") || *file == unix_scripts {
            problems.push(format!("a Linux file, {file}"));
        }
    }
    let tags: Vec<&str> = wheel_metadata.lines().filter_map(|line| line.strip_prefix("Tag:")).map(str::trim).collect();
    if tags != ["cp39-abi3-win_amd64"] {
        problems.push(format!("the tags {tags:?}, not only cp39-abi3-win_amd64"));
    }
    problems
}

/// Checks the `win_amd64` wheel: its tag and files, its extension module's DLLs, and that its
/// `tapis.exe` is `binary` byte for byte.
pub(crate) fn check_wheel(wheel: &Path, binary: &Path) -> Result<(), String> {
    let expected_name = format!("tapis_connect-{VERSION}-cp39-abi3-win_amd64.whl");
    if wheel.file_name().is_none_or(|name| name != expected_name.as_str()) {
        return Err(format!("the Windows wheel is {}, expected {expected_name}", wheel.display()));
    }
    let scratch = tempfile::tempdir().map_err(|error| format!("cannot make a temporary folder: {error}"))?;
    let unpacked = scratch.path().join("wheel");
    output_of(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(wheel).arg(&unpacked))?;
    let listing = files_below(&unpacked, &unpacked).join("\n");
    let metadata_path = unpacked.join(format!("tapis_connect-{VERSION}.dist-info/WHEEL"));
    let metadata = std::fs::read_to_string(&metadata_path).unwrap_or_default();
    crate::no_problems(
        &format!("{} is not the wheel we ship", wheel.display()),
        wheel_problems(&listing, &metadata),
        "check tapis-py/pyproject.toml and the wheel build above",
    )?;
    let module = unpacked.join("tapis_connect/_native.pyd");
    let imported = check_imports(&module, &[PYTHON_DLL])?;
    if !imported.iter().any(|dll| dll.eq_ignore_ascii_case(PYTHON_DLL)) {
        return Err(format!(
            "{} does not import {PYTHON_DLL}: not the stable ABI, it would load in one Python version only",
            module.display()
        ));
    }
    let script = unpacked.join(format!("tapis_connect-{VERSION}.data/scripts/tapis.exe"));
    let same = std::fs::read(&script).ok() == std::fs::read(binary).ok();
    if !same {
        return Err(format!("the wheel's tapis.exe is not {}", binary.display()));
    }
    eprintln!(
        "==> {}: cp39-abi3-win_amd64; _native.pyd imports {}; carries tapis.exe",
        wheel.display(),
        imported.join(", ")
    );
    Ok(())
}

/// Every file below `folder`, as a path relative to `root` with `/` between its parts.
fn files_below(folder: &Path, root: &Path) -> Vec<String> {
    let entries: Vec<PathBuf> =
        std::fs::read_dir(folder).into_iter().flatten().flatten().map(|entry| entry.path()).collect();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            files.extend(files_below(&path, root));
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<String> =
                relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
            files.push(parts.join("/"));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJDUMP: &str = "\
The Import Tables (interpreted .idata section contents)
 vma:            Hint    Time      Forward  DLL       First
                 Table   Stamp     Chain    Name      Thunk
 00263000       0026314c 00000000 00000000 002639a0 0026342c

\tDLL Name: KERNEL32.dll
\tvma:  Hint/Ord Member-Name Bound-To
\t263c5c      0  AddVectoredExceptionHandler

\tDLL Name: api-ms-win-core-synch-l1-2-0.dll
\tDLL Name: msvcrt.dll
";

    fn check(imported: &[&str], also_allowed: &[&str], expected_foreign: &[&str]) {
        let imported: Vec<String> = imported.iter().map(|dll| (*dll).to_owned()).collect();
        assert_eq!(foreign_dlls(&imported, also_allowed), expected_foreign, "{imported:?}");
    }

    #[test]
    fn the_imported_dlls_are_read_and_only_windows_own_pass() {
        assert_eq!(imported_dlls(OBJDUMP), ["KERNEL32.dll", "api-ms-win-core-synch-l1-2-0.dll", "msvcrt.dll"]);
        check(&["KERNEL32.dll", "api-ms-win-core-synch-l1-2-0.dll", "WS2_32.dll", "bcryptprimitives.dll"], &[], &[]);
        // mingw's runtime DLLs are not on a Windows machine: link them statically.
        check(
            &["kernel32.dll", "libgcc_s_seh-1.dll", "libwinpthread-1.dll"],
            &[],
            &["libgcc_s_seh-1.dll", "libwinpthread-1.dll"],
        );
        // The extension module may import the stable ABI's DLL, never one Python version's.
        check(&["python3.dll", "kernel32.dll"], &[PYTHON_DLL], &[]);
        check(&["python39.dll"], &[PYTHON_DLL], &["python39.dll"]);
        check(&["python3.dll"], &[], &["python3.dll"]);
    }

    #[test]
    fn wine_sees_the_root_as_drive_z() {
        assert_eq!(wine_path(Path::new("/tmp/a b/tokens.json")), r"Z:\tmp\a b\tokens.json");
    }

    #[test]
    fn a_windows_wheel_holds_the_module_the_package_and_tapis_exe() {
        let good_listing = wheel_must_hold().join("\n") + "\ntapis_connect-x.dist-info/RECORD\n";
        let good_tag = "Wheel-Version: 1.0\nGenerator: maturin\nRoot-Is-Purelib: false\nTag: cp39-abi3-win_amd64\n";
        assert_eq!(wheel_problems(&good_listing, good_tag), Vec::<String>::new());

        let linux_tag = good_tag.replace("win_amd64", "manylinux_2_17_x86_64");
        assert_eq!(wheel_problems(&good_listing, &linux_tag).len(), 1, "another tag");

        let without_exe = good_listing.replace("tapis.exe", "tapis");
        let problems = wheel_problems(&without_exe, good_tag);
        assert!(problems.iter().any(|problem| problem.ends_with("scripts/tapis.exe")), "{problems:?}");
        assert!(problems.iter().any(|problem| problem.starts_with("a Linux file")), "{problems:?}");

        let with_so = good_listing.replace("_native.pyd", "_native.abi3.so");
        assert_eq!(wheel_problems(&with_so, good_tag).len(), 2, "no .pyd, and a .so");
    }

    #[test]
    fn files_below_are_relative_with_slashes() {
        let folder = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir_all(folder.path().join("a/b")).expect("folders");
        std::fs::write(folder.path().join("a/b/c.txt"), "").expect("file");
        std::fs::write(folder.path().join("d"), "").expect("file");
        let mut files = files_below(folder.path(), folder.path());
        files.sort();
        assert_eq!(files, ["a/b/c.txt", "d"]);
    }
}

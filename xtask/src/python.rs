//! The cached Python environment of `cargo xtask dist`, and the Python tests run in it.
//!
//! `target/python/venv` is made with the system's `python3 -m venv` (or `$PYTHON`) and filled
//! from PyPI with the pinned `tapis-py/requirements-dist.txt`: maturin, ziglang and
//! cargo-zigbuild (whose PyPI package ships the binary) to build, pytest, tapipy,
//! jupyter_client, ipykernel and DesignSafe's dapi (with its numpy, pandas and SQLAlchemy) to test. It is reused while its stamp matches the
//! requirements file, so only the first run downloads anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, workspace_root};

/// The pinned requirements, relative to the workspace root.
const REQUIREMENTS: &str = "tapis-py/requirements-dist.txt";

/// pytest's exit code when it collected no test: a failure here, never a pass.
const PYTEST_NO_TESTS_COLLECTED: i32 = 5;

/// The cached virtual environment.
pub(crate) struct Venv {
    root: PathBuf,
}

impl Venv {
    /// The venv, made (or remade) when it is missing, incomplete or from other requirements.
    pub(crate) fn ensure() -> Result<Self, String> {
        let root = workspace_root().join("target/python/venv");
        let venv = Self { root };
        let requirements_path = workspace_root().join(REQUIREMENTS);
        let requirements = std::fs::read_to_string(&requirements_path)
            .map_err(|error| format!("cannot read {}: {error}", requirements_path.display()))?;
        let stamp = venv.root.join("requirements.stamp");
        if std::fs::read_to_string(&stamp).is_ok_and(|done| done == requirements) {
            eprintln!("==> reusing the Python environment in {}", venv.root.display());
            return Ok(venv);
        }
        if venv.root.exists() {
            std::fs::remove_dir_all(&venv.root)
                .map_err(|error| format!("cannot remove the stale {}: {error}", venv.root.display()))?;
        }
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        eprintln!("==> making the Python environment {} with {python}", venv.root.display());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv.root),
            "install Python 3.9 or later with its venv module",
        )?;
        run(
            Command::new(venv.bin("python"))
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements_path),
            "check that PyPI is reachable (pip's own proxy settings apply)",
        )?;
        std::fs::write(&stamp, requirements).map_err(|error| format!("cannot write {}: {error}", stamp.display()))?;
        Ok(venv)
    }

    /// A program in the venv's `bin/`.
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.root.join("bin").join(name)
    }

    /// `PATH` with the venv's `bin/` first, so that cargo-zigbuild and maturin find zig
    /// (`python -m ziglang`) there.
    pub(crate) fn path_variable(&self) -> std::ffi::OsString {
        let mut paths = vec![self.root.join("bin")];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).unwrap_or_default()
    }

    /// Installs `wheel` (replacing any earlier build) and runs the Python tests against it.
    pub(crate) fn test_wheel(&self, wheel: &Path) -> Result<(), String> {
        eprintln!("==> pip install {}", wheel.display());
        run(
            Command::new(self.bin("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--force-reinstall",
                    "--no-deps",
                ])
                .arg(wheel),
            "the wheel above could not be installed",
        )?;
        let tests = workspace_root().join("tapis-py/tests");
        eprintln!("==> pytest {}", tests.display());
        let status = Command::new(self.bin("python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(&tests)
            .env("PATH", self.path_variable())
            .current_dir(workspace_root())
            .status()
            .map_err(|error| format!("cannot run pytest: {error}"))?;
        match status.code() {
            Some(0) => Ok(()),
            Some(PYTEST_NO_TESTS_COLLECTED) => Err(format!("pytest collected no tests in {}", tests.display())),
            _ => Err(format!(
                "the Python tests failed ({status})\nfix: rerun one with `{} -m pytest {} -k NAME`",
                self.bin("python").display(),
                tests.display()
            )),
        }
    }
}

//! Where the binaries a test runs come from: Tansu ([`tansu_binary`]), and the workspace's
//! own, built up to date ([`workspace_binary`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::wait_with_deadline;

/// The first build of a binary compiles librdkafka: minutes on two cores.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Where the tansu binary is; a clear error says how to install it.
pub fn tansu_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return Ok(PathBuf::from(path));
    }
    let installed = workspace_root().join(".tools/bin/tansu");
    if installed.is_file() {
        return Ok(installed);
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("tansu"))
        .find(|path| path.is_file())
    {
        return Ok(found);
    }
    bail!("no tansu binary: run `scripts/broker.sh install` (or `make test`, which does), or set TANSU_BIN")
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of workspace binary `name` (`producer`, `tracker`, `monitor`), built up to date
/// into the target folder and profile the running test was built with (`cargo build -p
/// name`, a no-op when nothing changed; once per test process and binary). A test of one
/// crate can so run another crate's binary without `cargo test --workspace`, and never an
/// old build of it. Fails the test if the build fails or takes over 30 minutes.
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    // <target>/<profile>/deps/<this test>
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>").to_path_buf();
    let target_dir = profile_dir.parent().expect("the target folder").to_path_buf();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    build.args(["build", "--quiet", "-p", name]);
    if profile_dir.file_name().is_some_and(|profile| profile == "release") {
        build.arg("--release");
    }
    let mut child = build
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cargo starts");
    let status = match wait_with_deadline(&mut child, BUILD_TIMEOUT) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`cargo build -p {name}` took over {BUILD_TIMEOUT:?}");
        }
        Err(error) => panic!("waiting for cargo: {error:#}"),
    };
    assert!(status.success(), "`cargo build -p {name}` failed ({status}); its errors are above");
    let path = profile_dir.join(name);
    assert!(path.is_file(), "cargo built {name}, but it is not at {}", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

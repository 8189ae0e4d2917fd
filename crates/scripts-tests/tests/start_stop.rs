//! `start.sh` and `stop.sh` for real: the local broker on a free port, a temporary `RUN_DIR`,
//! the debug binaries (built first by the test) through `BIN_DIR`.

mod util;

use std::net::TcpStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;
use testkit::wait_until;
use util::{run, runs, script, Finished};

/// start.sh with the binaries given: the broker, the topics, the processes.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// stop.sh waits at most STOP_TIMEOUT (15 s) for the processes, then stops the broker.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the producer, tracker and monitor binaries into the target folder this test runs
/// from, and returns the folder that holds them.
fn built_binaries() -> PathBuf {
    let folders: Vec<PathBuf> = ["producer", "tracker", "monitor"]
        .iter()
        .map(|binary| {
            testkit::workspace_binary(binary).parent().expect("a binary has a folder").to_path_buf()
        })
        .collect();
    assert!(folders.windows(2).all(|pair| pair[0] == pair[1]), "binaries in different folders: {folders:?}");
    folders[0].clone()
}

/// One run of the scripts in a temporary RUN_DIR; stops whatever is left when dropped, so a
/// failing test leaves no process and no broker behind.
struct Run {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    port: u16,
}

impl Run {
    fn new(bin_dir: PathBuf) -> Run {
        Run { dir: tempfile::tempdir().unwrap(), bin_dir, port: testkit::free_port().unwrap() }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn command(&self, name: &str) -> Command {
        let mut command = script(name);
        command
            .env("RUN_DIR", self.dir.path())
            .env("BROKER", "local")
            .env("BROKER_PORT", self.port.to_string())
            .env("BIN_DIR", &self.bin_dir)
            .env("TRACKERS", "2")
            .env("PRODUCER_ARGS", "--interval-ms 50")
            .env("TRACKER_METRICS_INTERVAL_MS", "1000")
            .env_remove("KAFKA_BROKER")
            .env_remove("TRACKER_LOG_DIR")
            .env_remove("RUST_LOG");
        command
    }

    fn start(&self) -> Finished {
        run(&mut self.command("start.sh"), START_TIMEOUT)
    }

    fn stop(&self) -> Finished {
        run(&mut self.command("stop.sh"), STOP_TIMEOUT)
    }

    /// The PID recorded for `name` (instance-1, producer, ...).
    fn pid(&self, name: &str) -> i32 {
        let path = self.path(&format!("pids/{name}.pid"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        text.trim().parse().unwrap_or_else(|_| panic!("{} holds {text:?}", path.display()))
    }

    /// Lines in all the trackers' .events files.
    fn events_lines(&self) -> usize {
        ["instance-1", "instance-2"]
            .iter()
            .map(|id| {
                std::fs::read_to_string(self.path(&format!("logs/tracker-{id}.events")))
                    .map(|text| text.lines().count())
                    .unwrap_or(0)
            })
            .sum()
    }

    fn broker_answers(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.command("stop.sh").env("STOP_TIMEOUT", "5").output();
        let _ = script("scripts/broker.sh").arg("stop").env("BROKER_PORT", self.port.to_string()).output();
        // The broker's log stays for a failed test to be read; a passing one leaves nothing.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(util::repo_root().join(format!(".tools/broker/{}", self.port)));
        }
    }
}

/// The last line of a JSON-lines file, parsed.
fn last_entry(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let line = text.lines().last().unwrap_or_else(|| panic!("{} is empty", path.display()));
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{}: {error}: {line}", path.display()))
}

#[test]
fn start_runs_everything_once_and_stop_stops_it_all() {
    let session = Run::new(built_binaries());
    assert!(!session.broker_answers(), "port {} was free a moment ago", session.port);

    let started = session.start();
    assert_eq!(started.code, Some(0), "start.sh failed:\n{}", started.all());
    assert!(started.stdout.contains("local Tansu broker"), "says which broker and why:\n{}", started.stdout);
    assert!(started.stdout.contains("./analyze_logs.sh"), "says how to analyse:\n{}", started.stdout);
    assert!(started.stdout.contains("stop.sh"), "says how to stop:\n{}", started.stdout);
    assert!(session.broker_answers(), "the broker answers after start.sh");

    let names = ["instance-1", "instance-2", "producer"];
    let pids: Vec<i32> = names.iter().map(|name| session.pid(name)).collect();
    for (name, pid) in names.iter().zip(&pids) {
        let binary = if *name == "producer" { "producer" } else { "tracker" };
        assert!(runs(*pid, binary), "{name} (pid {pid}) runs {binary}:\n{}", started.all());
        assert!(started.stdout.contains(&pid.to_string()), "start.sh lists {name}:\n{}", started.stdout);
        assert!(session.path(&format!("out/{name}.out")).is_file(), "{name} has its own output file");
    }
    assert_eq!(
        std::fs::read_to_string(session.path("broker")).unwrap().trim(),
        format!("local {}", session.port)
    );

    // The trackers join the group and audit what the producer sends.
    wait_until(Duration::from_secs(60), "the .events files have lines", || session.events_lines() > 0);
    let seen = session.events_lines();
    wait_until(Duration::from_secs(30), "the .events files grow", || session.events_lines() > seen);

    let again = session.start();
    assert_eq!(again.code, Some(0), "second start.sh failed:\n{}", again.all());
    assert!(again.stdout.contains("Already running"), "{}", again.stdout);
    assert_eq!(names.iter().map(|name| session.pid(name)).collect::<Vec<_>>(), pids, "nothing new started");
    let trackers = std::fs::read_dir(session.path("pids")).unwrap().count();
    assert_eq!(trackers, 3, "two trackers and a producer, no more");

    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "stop.sh failed:\n{}", stopped.all());
    for (name, pid) in names.iter().zip(&pids) {
        let line = format!("{name} (pid {pid}): stopped cleanly");
        assert!(stopped.stdout.contains(&line), "expected {line:?} in:\n{}", stopped.all());
        assert!(!runs(*pid, "tracker") && !runs(*pid, "producer"), "{name} (pid {pid}) is gone");
    }
    let producer_line = stopped.stdout.find("producer (pid").unwrap();
    let tracker_line = stopped.stdout.find("instance-1 (pid").unwrap();
    assert!(producer_line < tracker_line, "the producer stops first:\n{}", stopped.stdout);

    for id in ["instance-1", "instance-2"] {
        let entry = last_entry(&session.path(&format!("logs/tracker-{id}.log")));
        assert_eq!(entry["kind"], "stopped", "{id}'s .log ends with its stop entry: {entry}");
        assert_eq!(entry["metadata"]["signal"], "SIGTERM", "{entry}");
    }
    let producer = last_entry(&session.path("logs/producer.log"));
    assert_eq!(producer["kind"], "stopped", "producer.log ends with its stop entry: {producer}");
    assert_eq!(producer["metadata"]["lost"], 0, "the producer flushed everything: {producer}");

    assert!(!session.broker_answers(), "the broker on port {} is stopped", session.port);
    let status = run_status(session.port);
    assert_eq!(status.code, Some(1), "broker.sh status after stop.sh:\n{}", status.all());
    assert_eq!(std::fs::read_dir(session.path("pids")).unwrap().count(), 0, "PID files removed");
    assert!(!session.path("broker").exists(), "the broker record is removed");

    let idle = session.stop();
    assert_eq!(idle.code, Some(0), "{}", idle.all());
    assert!(idle.stdout.contains("Nothing to stop"), "{}", idle.stdout);
}

#[test]
fn an_external_cluster_is_used_and_left_running() {
    let cluster = testkit::Broker::start().expect("a private broker");
    let session = Run::new(built_binaries());
    let mut start = session.command("start.sh");
    start.env_remove("BROKER").env("KAFKA_BROKER", cluster.bootstrap()).env("TRACKERS", "1");
    let started = run(&mut start, START_TIMEOUT);
    assert_eq!(started.code, Some(0), "start.sh failed:\n{}", started.all());
    assert!(started.stdout.contains("KAFKA_BROKER is set; no broker started"), "{}", started.stdout);
    assert!(!session.broker_answers(), "no local broker on port {}", session.port);
    assert!(runs(session.pid("instance-1"), "tracker"), "{}", started.all());
    wait_until(Duration::from_secs(60), "instance-1 audits messages", || session.events_lines() > 0);

    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert!(stopped.stdout.contains("is an external cluster; left running"), "{}", stopped.all());
    let address = cluster.bootstrap();
    assert!(TcpStream::connect(address.as_str()).is_ok(), "the external cluster still answers");
}

fn run_status(port: u16) -> Finished {
    run(
        script("scripts/broker.sh").arg("status").env("BROKER_PORT", port.to_string()),
        Duration::from_secs(10),
    )
}

/// A process that is not ours, whose PID sits in a PID file (as after a reboot recycled it).
struct Bystander(Child);

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn stop_never_signals_a_recycled_pid() {
    let session = Run::new(PathBuf::from("/nonexistent"));
    let bystander = Bystander(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = bystander.0.id();
    std::fs::create_dir_all(session.path("pids")).unwrap();
    std::fs::write(session.path("pids/instance-1.pid"), format!("{pid}\n")).unwrap();
    std::fs::write(session.path("pids/producer.pid"), "999999999\n").unwrap();

    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert!(stopped.stdout.contains("instance-1: not running (stale PID file removed)"), "{}", stopped.all());
    assert!(stopped.stdout.contains("producer: not running (stale PID file removed)"), "{}", stopped.all());
    assert!(runs(pid as i32, "sleep"), "the unrelated process was not signalled");
    assert_eq!(std::fs::read_dir(session.path("pids")).unwrap().count(), 0, "stale PID files removed");
}

/// Starts a copy of `sleep` named `name`, so that its command line looks like our binary's;
/// with `ignore_sigterm` it inherits SIGTERM ignored, like a process stuck in its shutdown.
fn impostor(dir: &Path, name: &str, ignore_sigterm: bool) -> Bystander {
    let path = dir.join(name);
    if !path.exists() {
        std::fs::copy("/bin/sleep", &path).expect("/bin/sleep can be copied");
    }
    let mut command = Command::new(&path);
    command.arg("120");
    if ignore_sigterm {
        // SAFETY: signal(2) is async-signal-safe; an ignored disposition survives exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    // A thread of this test process may fork while the copy is still open for writing, and
    // exec then fails with ETXTBSY until that child has exec'd in turn: try again briefly.
    for _ in 0..100 {
        match command.spawn() {
            Ok(child) => return Bystander(child),
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(error) => panic!("cannot start {}: {error}", path.display()),
        }
    }
    panic!("{} stayed busy (ETXTBSY) for 2 s", path.display());
}

#[test]
fn stop_kills_what_ignores_sigterm_after_the_timeout() {
    let session = Run::new(PathBuf::from("/nonexistent"));
    let bin = tempfile::tempdir().unwrap();
    let mut producer = impostor(bin.path(), "producer", false);
    let mut stuck = impostor(bin.path(), "tracker", true);
    std::fs::create_dir_all(session.path("pids")).unwrap();
    std::fs::write(session.path("pids/producer.pid"), format!("{}\n", producer.0.id())).unwrap();
    std::fs::write(session.path("pids/instance-1.pid"), format!("{}\n", stuck.0.id())).unwrap();

    let started = std::time::Instant::now();
    let stopped = run(session.command("stop.sh").env("STOP_TIMEOUT", "2"), STOP_TIMEOUT);
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    let producer_line = format!("producer (pid {}): stopped cleanly", producer.0.id());
    let tracker_line = format!("instance-1 (pid {}): killed after 2 s", stuck.0.id());
    assert!(stopped.stdout.contains(&producer_line), "{}", stopped.all());
    assert!(stopped.stdout.contains(&tracker_line), "{}", stopped.all());
    assert!(started.elapsed() >= Duration::from_secs(2), "waited for the timeout first");
    let status = stuck.0.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "the stuck process got SIGKILL");
    assert_eq!(producer.0.wait().unwrap().signal(), Some(libc::SIGTERM), "the producer got SIGTERM");
    assert_eq!(std::fs::read_dir(session.path("pids")).unwrap().count(), 0, "PID files removed");
}

#[test]
fn stop_with_nothing_running_says_so() {
    let session = Run::new(PathBuf::from("/nonexistent"));
    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert!(stopped.stdout.contains("Nothing to stop"), "{}", stopped.stdout);
}

#[test]
fn start_rejects_bad_settings_before_doing_anything() {
    let session = Run::new(PathBuf::from("/nonexistent"));
    let finished = run(session.command("start.sh").env("TRACKERS", "many"), Duration::from_secs(10));
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(finished.stderr.contains("TRACKERS=many"), "{}", finished.all());
    assert!(!session.path("pids").exists(), "nothing created");

    let finished =
        run(session.command("start.sh").env("BIN_DIR", session.path("no-such-folder")), START_TIMEOUT);
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(finished.stderr.contains("missing or not executable"), "{}", finished.all());
    assert!(!session.broker_answers(), "no broker started without binaries");
}

#[test]
fn help_describes_the_usage() {
    for name in ["start.sh", "stop.sh"] {
        let finished = run(script(name).arg("--help"), Duration::from_secs(10));
        assert_eq!(finished.code, Some(0), "{}", finished.all());
        assert!(finished.stdout.starts_with(&format!("Usage: ./{name}")), "{}", finished.stdout);
    }
}

//! `start.sh` and `stop.sh` for real: the local broker on a free port (Tansu for the quick
//! checks of the scripts; Apache Kafka for what a restart keeps), a temporary `RUN_DIR`, the
//! debug binaries (built first by the test) through `BIN_DIR`.

use std::net::TcpStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::util::{run, runs, script, Finished};
use serde_json::Value;
use testkit::wait_until;

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
    /// `tansu` or `kafka`: what `BROKER` says.
    broker: &'static str,
    /// The KRaft controller port of the local Apache Kafka.
    controller_port: u16,
    /// `KAFKA_NODES`: 1, or 3 (then `port`..`port + 2` and the controller ports after
    /// `controller_port`).
    nodes: u8,
}

impl Run {
    /// A run on the local Tansu.
    fn new(bin_dir: PathBuf) -> Run {
        Run::on("tansu", bin_dir)
    }

    /// A run on the local Apache Kafka.
    fn kafka(bin_dir: PathBuf) -> Run {
        Run::on("kafka", bin_dir)
    }

    fn on(broker: &'static str, bin_dir: PathBuf) -> Run {
        // Started again on the same ports: keep them out of the range other tests draw from.
        Run {
            dir: tempfile::tempdir().unwrap(),
            bin_dir,
            port: testkit::stable_port().unwrap(),
            broker,
            controller_port: testkit::stable_port().unwrap(),
            nodes: 1,
        }
    }

    /// A run on a local Apache Kafka of three nodes, on two runs of free ports.
    fn kafka3(bin_dir: PathBuf) -> Run {
        let (port, controller_port) = testkit::free_port_ranges().unwrap();
        Run { dir: tempfile::tempdir().unwrap(), bin_dir, port, broker: "kafka", controller_port, nodes: 3 }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn command(&self, name: &str) -> Command {
        let mut command = script(name);
        command
            .env("RUN_DIR", self.dir.path())
            .env("BROKER", self.broker)
            .env("BROKER_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
            .env("KAFKA_HEAP", "384m")
            .env("KAFKA_NODES", self.nodes.to_string())
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

    /// The PID recorded for `name` (instance-1, producer, ...): the first field of its pid file
    /// ("PID START-TIME").
    fn pid(&self, name: &str) -> i32 {
        let path = self.path(&format!("pids/{name}.pid"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let first = text.split_whitespace().next().unwrap_or_default();
        first.parse().unwrap_or_else(|_| panic!("{} holds {text:?}", path.display()))
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
        let _ = script("scripts/kafka.sh")
            .arg("stop")
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_NODES", self.nodes.to_string())
            .output();
        // The broker's log stays for a failed test to be read; a passing one leaves nothing.
        if !std::thread::panicking() {
            let root = crate::util::repo_root();
            let _ = std::fs::remove_dir_all(root.join(format!(".tools/broker/{}", self.port)));
            let _ = std::fs::remove_dir_all(root.join(format!(".tools/kafka-data/{}", self.port)));
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
    assert!(
        started.stdout.contains("Storage: memory")
            && started.stdout.contains("records, topics and committed offsets are lost at stop"),
        "says which storage and what a restart keeps:\n{}",
        started.stdout
    );
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
        format!("tansu {}", session.port)
    );

    // The trackers join the group and audit what the producer sends.
    wait_until(Duration::from_secs(60), "the .events files have lines", || session.events_lines() > 0);
    let seen = session.events_lines();
    wait_until(Duration::from_secs(30), "the .events files grow", || session.events_lines() > seen);

    let again = session.start();
    assert_eq!(again.code, Some(0), "second start.sh failed:\n{}", again.all());
    assert!(again.stdout.contains("Already running"), "{}", again.stdout);
    assert_eq!(names.iter().map(|name| session.pid(name)).collect::<Vec<_>>(), pids, "nothing new started");
    let trackers = std::fs::read_dir(session.path("pids"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|ext| ext == "pid"))
        .count();
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

    let finished = run(session.command("start.sh").env("PRODUCER", "no"), Duration::from_secs(10));
    assert_eq!(finished.code, Some(1), "{}", finished.all());
    assert!(finished.stderr.contains("PRODUCER=no is not supported: use on or off"), "{}", finished.all());
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

/// Processes whose program is `binary` (by `/proc/PID/exe`, whole even with spaces) and whose
/// environment names `run_dir` (start.sh gives each its files there): other tests running at the
/// same time start the same binaries.
fn processes_of(binary: &Path, run_dir: &Path) -> Vec<i32> {
    let run_dir = run_dir.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.windows(run_dir.len()).any(|window| window == run_dir))
        })
        .collect()
}

/// A space in the run folder and in the binaries' folder (or the checkout's path) used to cut
/// the process tracking short: start.sh reported every process dead and deleted their PID files
/// while they ran on, stop.sh could not stop them. Broker: Tansu.
#[test]
fn paths_with_spaces_are_tracked_started_and_stopped() {
    let built = built_binaries();
    let spaced = tempfile::tempdir().unwrap();
    let bin_dir = spaced.path().join("bin dir");
    std::fs::create_dir_all(&bin_dir).unwrap();
    for binary in ["producer", "tracker", "monitor"] {
        std::fs::copy(built.join(binary), bin_dir.join(binary)).unwrap();
    }
    let mut session = Run::new(bin_dir.clone());
    let run_dir = spaced.path().join("run dir");
    let command = |name: &str| {
        let mut command = session.command(name);
        command.env("RUN_DIR", &run_dir);
        command
    };
    let started = run(&mut command("start.sh"), START_TIMEOUT);
    assert_eq!(started.code, Some(0), "start.sh failed:\n{}", started.all());
    let trackers = processes_of(&bin_dir.join("tracker"), &run_dir);
    assert_eq!(trackers.len(), 2, "two trackers run:\n{}", started.all());
    let again = run(&mut command("start.sh"), START_TIMEOUT);
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(again.stdout.contains("Already running"), "the second start sees them:\n{}", again.all());
    assert_eq!(processes_of(&bin_dir.join("tracker"), &run_dir), trackers, "nothing new started");

    let stopped = run(&mut command("stop.sh"), STOP_TIMEOUT);
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert_eq!(stopped.stdout.matches("stopped cleanly").count(), 3, "{}", stopped.all());
    assert!(
        processes_of(&bin_dir.join("tracker"), &run_dir).is_empty()
            && processes_of(&bin_dir.join("producer"), &run_dir).is_empty()
    );
    session.dir = tempfile::tempdir().unwrap(); // nothing left for Drop to stop
}

/// Two start.sh at once used to start every process twice, and stop.sh then left half of them
/// running. One start.sh or stop.sh at a time: the other says which one runs. Broker: Tansu.
#[test]
fn two_starts_at_once_start_one_set_of_processes() {
    let session = Run::new(built_binaries());
    let first = testkit::Running::start({
        let mut command = session.command("start.sh");
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        command
    });
    let second = run(&mut session.command("start.sh"), START_TIMEOUT);
    let first = first.finish(START_TIMEOUT);
    // Whichever took the lock first started everything; the other was refused, naming it, or
    // came after it and found everything running.
    let refused = |start: &Finished| start.stderr.contains("another start.sh or stop.sh (pid");
    for (start, other) in [(&first, &second), (&second, &first)] {
        if refused(start) {
            assert_eq!(start.code, Some(1), "{}", start.all());
            assert_eq!(other.code, Some(0), "the other one started everything:\n{}", other.all());
        }
    }
    if !refused(&first) && !refused(&second) {
        assert_eq!((first.code, second.code), (Some(0), Some(0)), "{}\n{}", first.all(), second.all());
        assert!(
            first.stdout.contains("Already running") || second.stdout.contains("Already running"),
            "one of them came second and found everything running:\n{}\n{}",
            first.all(),
            second.all()
        );
    }
    assert_eq!(
        processes_of(&session.bin_dir.join("tracker"), session.dir.path()).len(),
        2,
        "two trackers, not four"
    );
    assert_eq!(processes_of(&session.bin_dir.join("producer"), session.dir.path()).len(), 1, "one producer");
    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert!(
        processes_of(&session.bin_dir.join("tracker"), session.dir.path()).is_empty(),
        "stop.sh stops them all"
    );
}

/// The local Tansu's pid file used to be trusted for any process whose command line held
/// "tansu": after a reboot or pid reuse, `broker.sh stop` would signal e.g. a `tail -f` of
/// the broker's log. Broker: none (no broker runs).
#[test]
fn broker_sh_never_signals_a_process_that_is_not_its_broker() {
    let port = testkit::free_port().unwrap();
    let state = crate::util::repo_root().join(format!(".tools/broker/{port}"));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("tansu.log"), "").unwrap();
    let tail = Bystander(Command::new("tail").arg("-f").arg(state.join("tansu.log")).spawn().unwrap());
    std::fs::write(state.join("tansu.pid"), format!("{}\n", tail.0.id())).unwrap();
    let stopped =
        run(script("scripts/broker.sh").arg("stop").env("BROKER_PORT", port.to_string()), STOP_TIMEOUT);
    assert_eq!(stopped.code, Some(0), "{}", stopped.all());
    assert!(stopped.stdout.contains("No broker started by this script runs"), "{}", stopped.all());
    assert!(runs(tail.0.id() as i32, "tail"), "the tail of the log was not signalled");
    drop(tail);
    let _ = std::fs::remove_dir_all(state);
}

// --- What a restart of the local broker keeps -----------------------------------------------

/// The first start of a local Apache Kafka formats its storage and starts a JVM: seconds, more
/// on two busy cores.
const KAFKA_START_TIMEOUT: Duration = Duration::from_secs(180);

/// `scripts/broker.sh` (Tansu) on its own free port; stops the broker when dropped, and deletes
/// its folder when the test passed.
struct LocalBroker {
    port: u16,
}

impl LocalBroker {
    fn new() -> LocalBroker {
        LocalBroker { port: testkit::stable_port().unwrap() }
    }

    fn command(&self, action: &str) -> Finished {
        run(
            script("scripts/broker.sh").arg(action).env("BROKER_PORT", self.port.to_string()),
            Duration::from_secs(60),
        )
    }

    /// Starts the broker and returns the cluster id it printed.
    fn start(&self) -> String {
        let started = self.command("start");
        assert_eq!(started.code, Some(0), "broker.sh start failed:\n{}", started.all());
        let id = started.stdout.split("cluster id ").nth(1).and_then(|rest| rest.split(',').next());
        id.unwrap_or_else(|| panic!("broker.sh start names the cluster id:\n{}", started.all())).to_owned()
    }

    fn stop(&self) {
        let stopped = self.command("stop");
        assert_eq!(stopped.code, Some(0), "broker.sh stop failed:\n{}", stopped.all());
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        let _ = script("scripts/broker.sh").arg("stop").env("BROKER_PORT", self.port.to_string()).output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(
                crate::util::repo_root().join(format!(".tools/broker/{}", self.port)),
            );
        }
    }
}

/// `scripts/kafka.sh` (one Apache Kafka node) on its own free ports; stops it when dropped, and
/// deletes its data when the test passed.
struct LocalKafka {
    port: u16,
    controller_port: u16,
}

impl LocalKafka {
    fn new() -> LocalKafka {
        // Restarted on the same ports: keep them out of the range other tests draw from.
        LocalKafka { port: testkit::stable_port().unwrap(), controller_port: testkit::stable_port().unwrap() }
    }

    fn command(&self, action: &str) -> Finished {
        run(
            script("scripts/kafka.sh")
                .arg(action)
                .env("KAFKA_PORT", self.port.to_string())
                .env("KAFKA_CONTROLLER_PORT", self.controller_port.to_string())
                .env("KAFKA_HEAP", "384m")
                .env_remove("KAFKA_NODES")
                .env_remove("KAFKA_DATA_DIR")
                .env_remove("KAFKA_SCRAM_USERS"),
            KAFKA_START_TIMEOUT,
        )
    }

    fn start(&self) {
        let started = self.command("start");
        assert_eq!(started.code, Some(0), "kafka.sh start failed:\n{}", started.all());
        assert!(started.stdout.contains("running on 127.0.0.1:"), "{}", started.all());
    }

    fn stop(&self) -> Finished {
        let stopped = self.command("stop");
        assert_eq!(stopped.code, Some(0), "kafka.sh stop failed:\n{}", stopped.all());
        stopped
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn cluster_id(&self) -> String {
        testkit::fetch_cluster_id(testkit::client_config_for(&self.bootstrap())).expect("a cluster id")
    }

    fn data_dir(&self) -> PathBuf {
        crate::util::repo_root().join(format!(".tools/kafka-data/{}", self.port))
    }

    /// The pid of the running node, from its pid file ("PID START-TIME").
    fn pid(&self) -> i32 {
        let path = self.data_dir().join("node-1/kafka.pid");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let first = text.split_whitespace().next().unwrap_or_default();
        first.parse().unwrap_or_else(|_| panic!("{} holds {text:?}", path.display()))
    }
}

impl Drop for LocalKafka {
    fn drop(&mut self) {
        let _ = script("scripts/kafka.sh")
            .arg("stop")
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_STOP_TIMEOUT", "5")
            .output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.data_dir());
        }
    }
}

/// Whether any process with that PID is alive (zombies count as gone).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

/// One audit line of a `.events` file: where the record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Audited {
    partition: i32,
    offset: i64,
    key: Option<String>,
}

impl Run {
    /// The audit lines of the `orders` topic in each tracker's `.events` file, in file order.
    fn audited(&self) -> Vec<Vec<Audited>> {
        ["instance-1", "instance-2"]
            .iter()
            .map(|id| {
                let path = self.path(&format!("logs/tracker-{id}.events"));
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                text.lines()
                    .map(|line| {
                        let entry: Value = serde_json::from_str(line)
                            .unwrap_or_else(|error| panic!("{}: {error}: {line}", path.display()));
                        entry
                    })
                    .filter(|entry| entry["kafka_topic"] == "orders")
                    .map(|entry| Audited {
                        partition: entry["kafka_partition"].as_i64().expect("kafka_partition") as i32,
                        offset: entry["kafka_offset"].as_i64().expect("kafka_offset"),
                        key: entry["kafka_key"].as_str().map(str::to_owned),
                    })
                    .collect()
            })
            .collect()
    }
}

/// Broker: Tansu (memory storage).
#[test]
fn memory_storage_starts_a_new_cluster_each_time() {
    let broker = LocalBroker::new();
    let first = broker.start();
    let read = |broker: &LocalBroker| {
        testkit::fetch_cluster_id(testkit::client_config_for(&broker.bootstrap())).expect("a cluster id")
    };
    assert_eq!(read(&broker), first, "clients read the id broker.sh printed");
    broker.stop();
    let second = broker.start();
    assert_eq!(read(&broker), second);
    assert_ne!(
        first, second,
        "a memory broker forgets everything: a new cluster id tells the lifetimes apart"
    );
    broker.stop();
}

/// Broker: Apache Kafka (scripts/kafka.sh).
#[test]
fn apache_kafka_keeps_its_cluster_id_until_purged() {
    let broker = LocalKafka::new();
    broker.start();
    let first = broker.cluster_id();
    let refused = broker.command("purge");
    assert_eq!(refused.code, Some(1), "purge refuses while the broker runs:\n{}", refused.all());
    assert!(refused.stderr.contains("stop it first"), "{}", refused.all());
    let pid = broker.pid();
    let stopped = broker.stop();
    assert!(
        stopped.stdout.contains("stopped (pid") && stopped.stdout.contains("controlled shutdown"),
        "{}",
        stopped.all()
    );
    assert!(!alive(pid), "the JVM is gone after stop");
    broker.start();
    assert_eq!(broker.cluster_id(), first, "the same data, the same cluster");
    broker.stop();

    let purged = broker.command("purge");
    assert_eq!(purged.code, Some(0), "{}", purged.all());
    assert!(purged.stdout.contains("Deleted the stored data"), "{}", purged.all());
    assert!(!broker.data_dir().exists(), "the data folder is gone");
    broker.start();
    assert_ne!(broker.cluster_id(), first, "purged data, a new cluster");
    broker.stop();
}

/// `KAFKA_NODES=3 ./start.sh`: three nodes, `orders` and `orders-dlq` with 3 replicas and
/// `min.insync.replicas=2` (as Kafka's own `kafka-topics --describe` says), the trackers and the
/// producer given the three addresses; `./stop.sh` stops the three nodes.
/// Broker: Apache Kafka, 3 nodes (BROKER=kafka KAFKA_NODES=3 ./start.sh).
#[test]
fn three_kafka_nodes_start_with_replicated_topics_and_stop_together() {
    let session = Run::kafka3(built_binaries());
    let started = run(&mut session.command("start.sh"), KAFKA_START_TIMEOUT);
    assert_eq!(started.code, Some(0), "start.sh failed:\n{}", started.all());
    assert!(started.stdout.contains("3 node(s)"), "says how many nodes:\n{}", started.stdout);
    let port = session.port;
    assert_eq!(std::fs::read_to_string(session.path("broker")).unwrap().trim(), format!("kafka {port} 3"));
    let bootstrap = format!("127.0.0.1:{port},127.0.0.1:{},127.0.0.1:{}", port + 1, port + 2);
    assert!(started.stdout.contains(&format!("broker       {bootstrap} ")), "{}", started.stdout);
    for topic in ["orders", "orders-dlq"] {
        let mut describe = script("scripts/kafka.sh");
        describe.args(["tool", "topics", "--bootstrap-server", &bootstrap, "--describe", "--topic", topic]);
        let described = run(&mut describe, Duration::from_secs(60));
        assert_eq!(described.code, Some(0), "{}", described.all());
        let text = &described.stdout;
        assert!(
            text.contains("ReplicationFactor: 3") && text.contains("min.insync.replicas=2"),
            "{topic}:\n{text}"
        );
        assert_eq!(text.matches("Isr: ").count(), if topic == "orders" { 3 } else { 1 }, "{text}");
    }
    let node_pids: Vec<i32> = (1..=3)
        .map(|node| {
            let mut pid = session.command("scripts/kafka.sh");
            pid.args(["pid", &node.to_string()]).env("KAFKA_PORT", port.to_string());
            let found = run(&mut pid, Duration::from_secs(10));
            found.stdout.trim().parse().unwrap_or_else(|_| panic!("node {node} runs:\n{}", found.all()))
        })
        .collect();
    // Every process was given the three addresses, and the orders flow.
    let producer_started = std::fs::read_to_string(session.path("logs/producer.log")).unwrap();
    let first: Value = serde_json::from_str(producer_started.lines().next().unwrap()).unwrap();
    assert_eq!(first["metadata"]["config"]["kafka"]["broker"], bootstrap.as_str());
    wait_until(Duration::from_secs(90), "the trackers audit orders", || session.events_lines() > 10);

    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "stop.sh failed:\n{}", stopped.all());
    for node in 1..=3 {
        assert!(stopped.stdout.contains(&format!("Apache Kafka node {node} stopped")), "{}", stopped.stdout);
    }
    for pid in node_pids {
        assert!(!alive(pid), "node pid {pid} is gone after stop.sh");
    }
}

/// The promise of a durable broker, through the scripts a user runs: `start.sh`, `stop.sh`,
/// `start.sh` on Apache Kafka, and the trackers resume where they committed: every record is
/// still in the topic at its place, each (partition, offset) is audited once, none is skipped.
/// Broker: Apache Kafka (BROKER=kafka ./start.sh).
#[test]
fn on_apache_kafka_a_restart_keeps_the_records_and_the_trackers_resume_where_they_committed() {
    let session = Run::kafka(built_binaries());
    let start = || {
        let started = run(&mut session.command("start.sh"), KAFKA_START_TIMEOUT);
        assert_eq!(started.code, Some(0), "start.sh failed:\n{}", started.all());
        assert!(started.stdout.contains("Broker: Apache Kafka 4."), "says which broker:\n{}", started.stdout);
        assert!(
            started.stdout.contains("survive ./stop.sh"),
            "says what a restart keeps:\n{}",
            started.stdout
        );
        started
    };
    let count = |audited: &[Vec<Audited>]| audited.iter().map(Vec::len).sum::<usize>();

    start();
    assert_eq!(
        std::fs::read_to_string(session.path("broker")).unwrap().trim(),
        format!("kafka {} 1", session.port)
    );
    let bootstrap = format!("127.0.0.1:{}", session.port);
    let cluster_id = testkit::fetch_cluster_id(testkit::client_config_for(&bootstrap)).unwrap();
    wait_until(Duration::from_secs(120), "the trackers audit 40 records", || count(&session.audited()) >= 40);
    let stopped = session.stop();
    assert_eq!(stopped.code, Some(0), "stop.sh failed:\n{}", stopped.all());
    assert!(stopped.stdout.contains("controlled shutdown"), "{}", stopped.all());
    assert!(stopped.stdout.contains("data kept in"), "{}", stopped.all());
    assert!(!session.broker_answers(), "Apache Kafka stopped:\n{}", stopped.all());
    let before = session.audited();

    start();
    assert_eq!(
        testkit::fetch_cluster_id(testkit::client_config_for(&bootstrap)).unwrap(),
        cluster_id,
        "the same cluster after the restart"
    );
    // Every record audited before the restart is still in the topic, at the same place.
    let places: Vec<(i32, i64)> = before.iter().flatten().map(|line| (line.partition, line.offset)).collect();
    let stored = testkit::read_offsets_with(
        testkit::client_config_for(&bootstrap),
        "orders",
        &places,
        Duration::from_secs(60),
    )
    .expect("the records produced before the restart can be read");
    for line in before.iter().flatten() {
        let record = &stored[&(line.partition, line.offset)];
        let key = record.key.as_deref().map(|key| String::from_utf8_lossy(key).into_owned());
        assert_eq!(key, line.key, "the record at {}/{} is the one audited", line.partition, line.offset);
    }
    wait_until(Duration::from_secs(120), "the trackers audit 40 more records", || {
        count(&session.audited()) >= count(&before) + 40
    });
    let stopped = run(session.command("stop.sh").arg("--purge"), STOP_TIMEOUT);
    assert_eq!(stopped.code, Some(0), "stop.sh --purge failed:\n{}", stopped.all());
    assert!(stopped.stdout.contains("Deleted the stored data"), "{}", stopped.all());
    assert!(
        !crate::util::repo_root().join(format!(".tools/kafka-data/{}", session.port)).exists(),
        "--purge deleted the data"
    );

    // Each (partition, offset) audited once, none skipped, and after the restart each partition
    // went on right after the last offset audited before it: the committed offsets held.
    let after = session.audited();
    let mut seen: std::collections::BTreeMap<(i32, i64), usize> = std::collections::BTreeMap::new();
    for line in after.iter().flatten() {
        *seen.entry((line.partition, line.offset)).or_default() += 1;
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, &times)| times > 1).collect();
    assert!(duplicates.is_empty(), "(partition, offset) audited more than once: {duplicates:?}");
    let mut missing = Vec::new();
    for partition in 0..3 {
        let offsets: Vec<i64> = seen.keys().filter(|(p, _)| *p == partition).map(|(_, o)| *o).collect();
        let Some(&last) = offsets.last() else { continue };
        missing
            .extend((0..=last).filter(|offset| !offsets.contains(offset)).map(|offset| (partition, offset)));
    }
    assert!(missing.is_empty(), "(partition, offset) never audited: {missing:?}");
    for (file_before, file_after) in before.iter().zip(&after) {
        for line in &file_after[file_before.len()..] {
            let last_before =
                before.iter().flatten().filter(|l| l.partition == line.partition).map(|l| l.offset).max();
            if let Some(last_before) = last_before {
                assert!(
                    line.offset > last_before,
                    "partition {} restarted at offset {} after the restart, below {last_before}",
                    line.partition,
                    line.offset
                );
            }
        }
    }
    let resumed = after.iter().flatten().count() - before.iter().flatten().count();
    assert!(resumed >= 40, "the trackers went on after the restart ({resumed} records)");
}

/// Broker: Apache Kafka (scripts/kafka.sh), killed with SIGKILL while records flow: every
/// record it acknowledged (acks=all) is there after the restart, at its place.
#[test]
fn apache_kafka_loses_no_acknowledged_record_when_killed_under_load() {
    let broker = LocalKafka::new();
    broker.start();
    let cluster_id = broker.cluster_id();
    let created = run(
        script("scripts/kafka.sh").args([
            "tool",
            "topics",
            "--bootstrap-server",
            &broker.bootstrap(),
            "--create",
            "--topic",
            "load",
            "--partitions",
            "3",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(created.code, Some(0), "{}", created.all());

    // About 500 records a second, in batches of 50, each batch waiting for its acknowledgements.
    const BATCHES: usize = 60;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i32, i64)>::new()));
    let producer = {
        let acknowledged = std::sync::Arc::clone(&acknowledged);
        let bootstrap = broker.bootstrap();
        std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                for batch in 0..BATCHES {
                    let records: Vec<testkit::Record> = (0..50)
                        .map(|i| {
                            testkit::Record::new(format!("key-{batch}-{i}"), format!("payload-{batch}-{i}"))
                        })
                        .collect();
                    let places =
                        testkit::produce_with(testkit::client_config_for(&bootstrap), "load", &records)
                            .await
                            .map_err(|error| format!("batch {batch}: {error:#}"))?;
                    let batch_acknowledged =
                        records.iter().zip(places).map(|(record, (partition, offset))| {
                            let key = String::from_utf8_lossy(record.key.as_deref().unwrap_or_default())
                                .into_owned();
                            (key, partition, offset)
                        });
                    acknowledged.lock().unwrap().extend(batch_acknowledged);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(())
            })
        })
    };
    wait_until(Duration::from_secs(60), "500 records are acknowledged", || {
        acknowledged.lock().unwrap().len() >= 500
    });
    let pid = broker.pid();
    // SAFETY: kill(2) on the broker's PID, read from the PID file kafka.sh wrote a moment ago.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until(Duration::from_secs(10), "the killed broker is gone", || !alive(pid));
    let killed_at = acknowledged.lock().unwrap().len();
    broker.start();
    assert_eq!(broker.cluster_id(), cluster_id, "the restarted broker serves the same cluster");

    let outcome = producer.join().expect("the producer thread");
    outcome.unwrap_or_else(|error| panic!("a record was not acknowledged: {error}"));
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), BATCHES * 50, "every record acknowledged");
    assert!(killed_at < acknowledged.len(), "records were still being produced when the broker was killed");

    let places: Vec<(i32, i64)> =
        acknowledged.iter().map(|(_, partition, offset)| (*partition, *offset)).collect();
    let stored = testkit::read_offsets_with(
        testkit::client_config_for(&broker.bootstrap()),
        "load",
        &places,
        Duration::from_secs(60),
    )
    .expect("every acknowledged record can be read after the restart");
    for (key, partition, offset) in &acknowledged {
        let record = &stored[&(*partition, *offset)];
        assert_eq!(record.key.as_deref(), Some(key.as_bytes()), "the record at {partition}/{offset}");
    }
    broker.stop();
}

/// The figure on the report line that starts with `label` (`  duplicate deliveries   0  …`).
fn report_figure(report: &str, label: &str) -> u64 {
    let line = report
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in the report:\n{report}"));
    let figure = line.trim_start()[label.len()..].split_whitespace().next().unwrap_or_default();
    figure.parse().unwrap_or_else(|_| panic!("{label:?} is not followed by a number: {line}"))
}

/// The sequence that used to rewrite history: `start.sh`, `stop.sh`, `start.sh` on the memory
/// broker, which forgets every record and committed offset, so offsets start again at 0. Each
/// start is a new cluster id, every audit line carries it, and the report and the monitor
/// count 0 duplicate deliveries and 0 missing offsets (before, the report counted the second
/// lifetime's records as duplicates of the first's).
#[test]
fn a_memory_broker_restarted_is_a_new_lifetime_not_duplicates() {
    let session = Run::new(built_binaries());
    let count = |audited: &[Vec<Audited>]| audited.iter().map(Vec::len).sum::<usize>();
    for round in 1..=2 {
        let before = count(&session.audited());
        let started = session.start();
        assert_eq!(started.code, Some(0), "start.sh ({round}) failed:\n{}", started.all());
        wait_until(Duration::from_secs(90), "the trackers audit 20 more records", || {
            count(&session.audited()) >= before + 20
        });
        let stopped = session.stop();
        assert_eq!(stopped.code, Some(0), "stop.sh ({round}) failed:\n{}", stopped.all());
    }

    // Offsets did start again at 0: the same places appear under two cluster ids.
    let mut lifetimes: std::collections::BTreeMap<String, Vec<(i64, i64)>> = Default::default();
    for id in ["instance-1", "instance-2"] {
        let text = std::fs::read_to_string(session.path(&format!("logs/tracker-{id}.events"))).unwrap();
        for line in text.lines() {
            let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let cluster = entry["cluster_id"].as_str().expect("every line names its cluster").to_owned();
            let place = (entry["kafka_partition"].as_i64().unwrap(), entry["kafka_offset"].as_i64().unwrap());
            lifetimes.entry(cluster).or_default().push(place);
        }
    }
    assert_eq!(lifetimes.len(), 2, "two broker lifetimes: {:?}", lifetimes.keys());
    let mut places =
        lifetimes.values().map(|places| places.iter().collect::<std::collections::BTreeSet<_>>());
    let (first, second) = (places.next().unwrap(), places.next().unwrap());
    assert!(
        first.intersection(&second).next().is_some(),
        "offsets started again at 0 in the second lifetime"
    );

    let report = run(session.command("analyze_logs.sh").arg(session.path("logs")), Duration::from_secs(300));
    assert_eq!(report.code, Some(0), "analyze_logs.sh failed:\n{}", report.all());
    assert_eq!(report_figure(&report.stdout, "duplicate deliveries"), 0, "{}", report.stdout);
    assert_eq!(report_figure(&report.stdout, "missing offsets"), 0, "{}", report.stdout);

    let monitor = run(
        Command::new(session.bin_dir.join("monitor"))
            .arg("--dir")
            .arg(session.path("logs"))
            .args(["--once", "--json"]),
        Duration::from_secs(60),
    );
    assert_eq!(monitor.code, Some(0), "monitor --once --json failed:\n{}", monitor.all());
    let summary: Value = serde_json::from_str(&monitor.stdout).expect("monitor --json prints JSON");
    assert_eq!(summary["messages"]["duplicate_deliveries"], 0, "{}", summary["messages"]);
    assert_eq!(summary["messages"]["missing_offsets"], 0, "{}", summary["messages"]);
}

/// The scripts' cluster ids are random URL-safe base64, so one in 64 started with '-', and
/// `tansu broker --kafka-cluster-id -M…` then refused to start ("unexpected argument '-M'
/// found"): `./start.sh` failed one time in 64 (Kafka's storage tool would read it as an option
/// too). 3,000 draws of each script's own function find such an id with a probability of
/// 1 − (63/64)^3000 ≈ 1 before the fix.
#[test]
fn generated_cluster_ids_never_look_like_an_option() {
    for (script_path, name) in [("scripts/broker.sh", "secret"), ("scripts/kafka.sh", "new_cluster_id")] {
        cluster_ids_never_look_like_an_option(script_path, name);
    }
}

fn cluster_ids_never_look_like_an_option(script_path: &str, name: &str) {
    let source = std::fs::read_to_string(crate::util::repo_root().join(script_path)).unwrap();
    let start =
        source.find(&format!("{name}() {{")).unwrap_or_else(|| panic!("{script_path} defines {name}()"));
    let first_line = &source[start..start + source[start..].find('\n').unwrap_or(source.len() - start)];
    // A one-line function, or one that ends with a line holding only "}".
    let function = if first_line.trim_end().ends_with('}') {
        first_line
    } else {
        let end = source[start..].find("\n}\n").unwrap_or_else(|| panic!("{name}() ends with a '}}' line"));
        &source[start..start + end + 2]
    };
    let draws = run(
        Command::new("bash")
            .args(["-c", &format!("{function}\nfor _ in $(seq 3000); do {name}; echo; done")]),
        Duration::from_secs(120),
    );
    assert_eq!(draws.code, Some(0), "{}", draws.all());
    let ids: Vec<&str> = draws.stdout.lines().collect();
    assert_eq!(ids.len(), 3000);
    for id in ids {
        assert!(!id.starts_with('-'), "{id} would be read as an option");
        assert!(
            id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id} is not 22 URL-safe characters"
        );
    }
}

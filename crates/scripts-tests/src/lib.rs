//! Integration tests of the repository's scripts (`start.sh`, `stop.sh`, `analyze_logs.sh`),
//! which run them as a user would: real processes, a real local broker, fixture files with
//! known answers. The package has no code of its own; the tests live in `tests/`.

//! The system tests: what crosses binaries and scripts (`start.sh`, `stop.sh`,
//! `analyze_logs.sh`, producer + tracker + monitor together, SASL end to end, chaos), run as a
//! user would: real processes, a real local broker, fixture files with known answers. The
//! package has no code of its own; the tests live in `tests/it/`, one module per area.

# Order tracking on Kafka. `make` alone lists the targets.
.DEFAULT_GOAL := help
.PHONY: help build test chaos chaos-eos drills run stop purge monitor analyze screenshot walkthrough walkthrough-readme bench bench-eos lint fmt clean completions

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build the release binaries (target/release/{producer,tracker,monitor,dlq})
	cargo build --release --workspace --locked

test: ## Install the local broker if missing, then fmt check, clippy and every test
	scripts/test.sh

chaos: ## Crash drill: 100,000 orders, 3 trackers, 5 SIGKILLs; nothing may be lost
	CHAOS_ORDERS=$${CHAOS_ORDERS:-100000} CHAOS_KILLS=$${CHAOS_KILLS:-5} \
	  cargo test --locked -p system-tests --test it resilience::chaos_sigkill -- --nocapture

chaos-eos: ## The chaos drill in both modes on Apache Kafka: exactly-once doubles nothing
	EOS_CHAOS_ORDERS=$${EOS_CHAOS_ORDERS:-20000} EOS_CHAOS_RATE=$${EOS_CHAOS_RATE:-500} EOS_CHAOS_KILLS=$${EOS_CHAOS_KILLS:-5} \
	  cargo test --locked -p system-tests --test it resilience::chaos_in_both_modes -- --nocapture

drills: ## Broker-loss drills on three local Kafka nodes (docs/reliability.md), one after the other
	cargo test --locked -p system-tests --test it broker_loss -- --test-threads=1 --nocapture

run: ## Start a broker, the trackers and the producer (start.sh)
	./start.sh

stop: ## Stop everything start.sh started (stop.sh)
	./stop.sh

purge: ## Stop everything, then delete the local broker's stored data (stop.sh --purge)
	./stop.sh --purge

monitor: build ## Open the live dashboard over the tracker files
	target/release/monitor --dir $${TRACKER_LOG_DIR:-run/logs}

analyze: ## Summarise the tracker files (analyze_logs.sh)
	./analyze_logs.sh $${TRACKER_LOG_DIR:-run/logs}

screenshot: ## Redraw docs/img/monitor.svg from a real run (scripts/screenshot.sh)
	scripts/screenshot.sh

walkthrough: build ## Run the README's walkthrough (Apache Kafka, 1 and 3 nodes; Tansu); output in target/walkthrough/
	scripts/walkthrough.sh

walkthrough-readme: build ## Run the walkthrough and rewrite the README's marked output blocks with it
	scripts/walkthrough.sh --write

bench: ## Producer and tracker against kcat and Kafka's tools, 5 interleaved rounds on Kafka and Tansu (5-7 min)
	scripts/bench.sh

bench-eos: ## What exactly-once costs: a tracker's throughput and latency in each mode (Apache Kafka)
	scripts/bench-eos.sh

lint: ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt: ## Format the code
	cargo fmt --all

clean: ## Remove build output and run files (keeps the installed broker in .tools/)
	cargo clean
	rm -rf run

completions: ## Write shell completions and man pages to target/completions and target/man
	cargo run --quiet --locked -p manpages --bin generate-docs -- target

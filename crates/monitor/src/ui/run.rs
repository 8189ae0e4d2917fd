//! The terminal loop: read a bounded chunk of the files, take a summary, draw, wait for keys,
//! the mouse or the next tick.
//!
//! Files are read in bounded chunks per tick (the header shows how much is left while catching
//! up), so big files never freeze the screen. The terminal is set up with `ratatui::init()`,
//! whose panic hook restores it, and restored on every exit path; mouse capture is turned off
//! on every exit path too, panics included.

use std::io;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, MouseEventKind};
use crossterm::execute;
use ratatui::layout::Rect;
use ratatui::DefaultTerminal;

use super::{render, Action, App};
use crate::aggregate::Aggregator;
use crate::cli::Options;
use crate::tail::Tailer;
use crate::MonitorError;

/// Bytes read per tick: enough to catch up quickly, small enough to keep drawing.
pub const READ_BUDGET_BYTES_PER_TICK: u64 = 8 << 20;

/// Runs the dashboard until a quit key. Restores the terminal on every exit path.
pub fn run_dashboard(options: &Options) -> Result<(), MonitorError> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Best effort: the terminal may be gone.
        let _ = execute!(io::stdout(), DisableMouseCapture);
        previous_hook(info);
    }));
    let mut terminal = ratatui::init();
    // Without mouse capture the dashboard still works with keys: not worth failing for.
    let _ = execute!(io::stdout(), EnableMouseCapture);
    let result = dashboard_loop(&mut terminal, options);
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn dashboard_loop(terminal: &mut DefaultTerminal, options: &Options) -> Result<(), MonitorError> {
    let started_at = Utc::now();
    let mut aggregator = Aggregator::new(crate::aggregator_config(options));
    let mut tailer = Tailer::new(&options.dir);
    let mut app = App::new(options.dir.display().to_string(), aggregator.snapshot(started_at), started_at);
    // The dashboard runs on a terminal only.
    app.color = options.color.colors(true, std::env::var_os("NO_COLOR").as_deref());
    // crossterm reads NO_COLOR itself and would drop the colours of `--color always`: our
    // decision is the one that holds.
    crossterm::style::force_color_output(app.color);
    loop {
        let now = Utc::now();
        if !app.paused {
            match tailer.poll(READ_BUDGET_BYTES_PER_TICK, &mut aggregator.sink(now)) {
                Ok(outcome) => {
                    app.pending_bytes = outcome.bytes_pending;
                    app.read_error = None;
                }
                Err(error) => app.read_error = Some(error.to_string()),
            }
            app.file_count = tailer.file_count();
            app.warnings = tailer.warnings().iter().map(ToString::to_string).collect();
        }
        app.summary = aggregator.snapshot(now);
        app.now = now;
        let size = terminal.size().map_err(MonitorError::Terminal)?;
        app.screen = Rect::new(0, 0, size.width, size.height);
        terminal.draw(|frame| render(&app, frame)).map_err(MonitorError::Terminal)?;
        let catching_up = !app.paused && app.pending_bytes > 0;
        // A deadline rather than a wait, so that a stream of ignored events (mouse moves)
        // cannot hold the next refresh back.
        let mut deadline = Instant::now() + if catching_up { Duration::ZERO } else { options.interval };
        while event::poll(deadline.saturating_duration_since(Instant::now()))
            .map_err(MonitorError::Terminal)?
        {
            match event::read().map_err(MonitorError::Terminal)? {
                Event::Key(key) => match app.handle_key(key) {
                    Action::Quit => return Ok(()),
                    Action::ResetRateWindow => aggregator.reset_rate_window(Utc::now()),
                    Action::None => {}
                },
                Event::Mouse(mouse)
                    if matches!(mouse.kind, MouseEventKind::Moved | MouseEventKind::Drag(_)) =>
                {
                    continue
                }
                Event::Mouse(mouse) => app.handle_mouse(mouse),
                Event::Resize(width, height) => app.screen = Rect::new(0, 0, width, height),
                _ => continue,
            }
            // Redraw right after an input rather than waiting out the interval.
            deadline = Instant::now();
        }
    }
}

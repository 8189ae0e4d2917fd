//! The dashboard: [`App`] state, keys and mouse, the pure [`render`], the terminal loop and the
//! `--screenshot` picture.
//!
//! `render(&App, &mut Frame)` only reads the state, so tests draw into a `TestBackend`, and so
//! does `monitor --screenshot`. Where each panel goes is one pure function, [`layout::layout`],
//! used by `render` and by the mouse (the wheel scrolls the panel under the pointer).
//!
//! Modules:
//! - [`fit`]: making figures fit without cutting them (suffixes, ids shortened in the middle,
//!   columns sized to their content, "+N more").
//! - [`layout`]: where each panel goes, and `render`.
//! - [`header`]: the status line and the figures.
//! - [`panels`]: the tables and lists (instances, partitions, orders, problems, business) and
//!   the charts (msg/s, latency).
//! - [`dead_letters`]: the dead-letters tab.
//! - [`help`]: the `?` overlay (keys and what each counter means), the footer and the screen of
//!   an empty folder.
//! - [`run`]: the terminal loop.
//! - [`svg`]: one frame as an SVG picture.

pub mod charts;
pub mod dead_letters;
pub mod fit;
pub mod header;
pub mod help;
pub mod layout;
pub mod panels;
pub mod run;
pub mod svg;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::aggregate::Summary;

pub use fit::compact_number;
pub use layout::render;
pub use run::{run_dashboard, READ_BUDGET_BYTES_PER_TICK};

/// Rows one turn of the mouse wheel scrolls.
const WHEEL_ROWS: isize = 3;

/// The panels that can take the focus. The [`Panel::TABS`] share one place on the screen:
/// [`App::table`] says which one is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The instance table (tab 1).
    Instances,
    /// Lag per partition (tab 2).
    Partitions,
    /// The latest dead letters and their counts by error kind (tab 3).
    DeadLetters,
    /// The latest orders.
    Orders,
    /// Warnings of the monitor, warnings and errors of the trackers.
    Problems,
    /// Business figures.
    Business,
}

impl Panel {
    /// Every panel, indexing [`App::scroll`].
    pub const ALL: [Panel; 6] = [
        Panel::Instances,
        Panel::Partitions,
        Panel::DeadLetters,
        Panel::Orders,
        Panel::Problems,
        Panel::Business,
    ];

    /// The tabs of the table place, in key order (`1`, `2`...).
    pub const TABS: [Panel; 3] = [Panel::Instances, Panel::Partitions, Panel::DeadLetters];

    fn index(self) -> usize {
        Panel::ALL.iter().position(|panel| *panel == self).unwrap_or(0)
    }

    /// Whether it is one of the tabs of the table place.
    pub fn is_tab(self) -> bool {
        Panel::TABS.contains(&self)
    }

    /// The name on its tab or title.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Instances => "instances",
            Panel::Partitions => "partitions",
            Panel::DeadLetters => "dead letters",
            Panel::Orders => "latest orders",
            Panel::Problems => "warnings & errors",
            Panel::Business => "business",
        }
    }
}

/// What a key asks the loop to do beyond changing the [`App`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more.
    None,
    /// Leave the dashboard.
    Quit,
    /// Start the rate window again now.
    ResetRateWindow,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    /// The directory followed, as shown in the header.
    pub dir: String,
    /// The latest summary.
    pub summary: Summary,
    /// When the monitor started, for its uptime.
    pub started_at: DateTime<Utc>,
    /// The time of the latest summary.
    pub now: DateTime<Utc>,
    /// The panel that keys scroll.
    pub focus: Panel,
    /// The tab drawn in the table place.
    pub table: Panel,
    /// Rows scrolled per panel, indexed like [`Panel::ALL`].
    pub scroll: [usize; 6],
    /// Reading is paused (`p`).
    pub paused: bool,
    /// The help overlay is shown (`?`).
    pub show_help: bool,
    /// Lines the help is scrolled by (a short screen).
    pub help_scroll: usize,
    /// Bytes not read yet (catching up when above 0).
    pub pending_bytes: u64,
    /// Files followed.
    pub file_count: usize,
    /// The last read error, shown in the header until reading works again.
    pub read_error: Option<String>,
    /// What the file follower could not read (odd files, the open-file limit...): the figures
    /// leave it out, so the screen says so.
    pub warnings: Vec<String>,
    /// Colours are drawn; false with `--color never`, or `NO_COLOR` set and no `--color always` (then the focus shows as a marker and
    /// reversed title, and coloured badges as reversed text).
    pub color: bool,
    /// The terminal's size at the last draw: page size of PgUp/PgDn, panels under the mouse.
    pub screen: Rect,
}

impl App {
    /// A fresh dashboard state.
    pub fn new(dir: String, summary: Summary, started_at: DateTime<Utc>) -> App {
        App {
            dir,
            summary,
            started_at,
            now: started_at,
            focus: Panel::Instances,
            table: Panel::Instances,
            scroll: [0; 6],
            paused: false,
            show_help: false,
            help_scroll: 0,
            pending_bytes: 0,
            file_count: 0,
            read_error: None,
            warnings: Vec::new(),
            color: true,
            screen: Rect::new(0, 0, 80, 24),
        }
    }

    /// Applies one key press.
    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if control => return Action::Quit,
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Esc if self.show_help => self.show_help = false,
            KeyCode::Esc => return Action::Quit,
            KeyCode::Char('?') => self.show_help = !self.show_help,
            // While the help is shown, the scrolling keys scroll it.
            KeyCode::Char('j') | KeyCode::Down | KeyCode::PageDown if self.show_help => {
                self.help_scroll = (self.help_scroll + 1).min(help::help_line_count().saturating_sub(1));
            }
            KeyCode::Char('k') | KeyCode::Up | KeyCode::PageUp if self.show_help => {
                self.help_scroll = self.help_scroll.saturating_sub(1);
            }
            KeyCode::Tab | KeyCode::Char('l') | KeyCode::Right => self.step_focus(true),
            KeyCode::BackTab | KeyCode::Char('h') | KeyCode::Left => self.step_focus(false),
            KeyCode::Char(digit @ '1'..='9') => {
                let index = digit as usize - '1' as usize;
                if let Some(&tab) = Panel::TABS.get(index) {
                    self.table = tab;
                    self.focus = tab;
                }
            }
            KeyCode::Char('j') | KeyCode::Down => self.scroll_by(self.focus, 1),
            KeyCode::Char('k') | KeyCode::Up => self.scroll_by(self.focus, -1),
            KeyCode::PageDown => self.scroll_by(self.focus, self.page_rows(self.focus)),
            KeyCode::PageUp => self.scroll_by(self.focus, -self.page_rows(self.focus)),
            KeyCode::Char('g') | KeyCode::Home => self.scroll[self.focus.index()] = 0,
            KeyCode::Char('G') | KeyCode::End => self.scroll_by(self.focus, isize::MAX),
            KeyCode::Char('p') => self.paused = !self.paused,
            KeyCode::Char('r') => return Action::ResetRateWindow,
            _ => {}
        }
        Action::None
    }

    /// Applies one mouse event: the wheel scrolls the panel under the pointer (the focused one
    /// when the pointer is over no panel); a click focuses the panel under it.
    pub fn handle_mouse(&mut self, mouse: MouseEvent) {
        let under = layout::panel_at(self, Position::new(mouse.column, mouse.row));
        match mouse.kind {
            MouseEventKind::ScrollDown => self.scroll_by(under.unwrap_or(self.focus), WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.scroll_by(under.unwrap_or(self.focus), -WHEEL_ROWS),
            MouseEventKind::Down(_) => {
                if let Some(panel) = under {
                    self.focus = panel;
                }
            }
            _ => {}
        }
    }

    fn step_focus(&mut self, forward: bool) {
        let order = [self.table, Panel::Orders, Panel::Problems, Panel::Business];
        let current = order.iter().position(|panel| *panel == self.focus).unwrap_or(0);
        let next = if forward { current + 1 } else { current + order.len() - 1 };
        self.focus = order[next % order.len()];
    }

    /// Rows of a panel's content, for clamping its scroll.
    fn row_count(&self, panel: Panel) -> usize {
        match panel {
            Panel::Instances => self.summary.instances.len(),
            Panel::Partitions => self.summary.partition_lag.len(),
            Panel::DeadLetters => self.summary.dead_letters.latest.len(),
            Panel::Orders => self.summary.latest_orders.len(),
            Panel::Problems => self.warnings.len() + self.summary.latest_problems.len(),
            Panel::Business => {
                let width = layout::layout(self, self.screen).business.width.saturating_sub(2);
                panels::business_lines(self, usize::from(width)).len()
            }
        }
    }

    fn page_rows(&self, panel: Panel) -> isize {
        let area = layout::panel_area(&layout::layout(self, self.screen), panel);
        // Borders and the header row are not rows of content.
        isize::try_from(usize::from(area.height.saturating_sub(3).max(1))).unwrap_or(1)
    }

    fn scroll_by(&mut self, panel: Panel, delta: isize) {
        let rows = self.row_count(panel);
        let slot = &mut self.scroll[panel.index()];
        *slot = slot.saturating_add_signed(delta).min(rows.saturating_sub(1));
    }

    /// Rows scrolled in `panel`.
    pub fn scrolled(&self, panel: Panel) -> usize {
        self.scroll[panel.index()]
    }

    /// Whether the folder holds nothing to show yet.
    pub fn is_empty_folder(&self) -> bool {
        self.file_count == 0 && self.summary.instances.is_empty() && self.summary.producer.is_none()
    }

    /// The width instance ids are shortened to outside the tables, the same everywhere: the
    /// narrowest that keeps every known id distinct, and at least 12.
    pub fn id_width(&self) -> usize {
        fit::distinct_width(self.summary.instances.iter().map(|instance| instance.instance_id.as_str()), 12)
    }
}

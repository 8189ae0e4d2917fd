//! One frame of the dashboard as an SVG picture (`monitor --screenshot FILE.svg`): the files
//! are read once, the screen is drawn into a `TestBackend` of the asked size, and each run of
//! cells of one style becomes a `<text>` (and a `<rect>` for its background).
//!
//! The picture is the real `render` over real files: what the README shows is what the
//! dashboard draws.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

use super::{render, App};
use crate::aggregate::Aggregator;
use crate::cli::Options;
use crate::tail::Tailer;
use crate::MonitorError;

/// Width of one cell, pixels (0.6 em of the font size: a monospace advance).
const CELL_WIDTH: f64 = 8.4;
/// Height of one row, pixels.
const ROW_HEIGHT: u32 = 18;
/// Font size, pixels.
const FONT_SIZE: u32 = 14;
/// The terminal's own colours (a dark theme).
const DEFAULT_FOREGROUND: &str = "#d4d4d4";
const DEFAULT_BACKGROUND: &str = "#1e1e1e";
/// The 16 ANSI colours (black, red... white, then their bright forms).
const ANSI: [u32; 16] = [
    0x000000, 0xcd3131, 0x0dbc79, 0xe5e510, 0x2472c8, 0xbc3fbc, 0x11a8cd, 0xe5e5e5, 0x666666, 0xf14c4c,
    0x23d18b, 0xf5f543, 0x3b8eea, 0xd670d6, 0x29b8db, 0xffffff,
];

/// Reads the folder once and writes one frame of `width` × `height` cells to `path`.
pub fn write_screenshot(options: &Options, path: &Path, width: u16, height: u16) -> Result<(), MonitorError> {
    let now = options.now.unwrap_or_else(Utc::now);
    let mut aggregator = Aggregator::new(crate::aggregator_config(options));
    let mut tailer = Tailer::new(&options.dir);
    tailer
        .read_all(&mut aggregator.sink(now))
        .map_err(|source| MonitorError::Read { path: options.dir.clone(), source })?;
    let mut app = App::new(options.dir.display().to_string(), aggregator.snapshot(now), now);
    app.file_count = tailer.file_count();
    app.warnings = tailer.warnings().iter().map(ToString::to_string).collect();
    app.screen = ratatui::layout::Rect::new(0, 0, width, height);
    let svg = to_svg(&draw(&app, width, height));
    write_private(path, &options.dir, svg.as_bytes())
}

/// How every picture starts: an existing file that starts so is an earlier screenshot, which may
/// be replaced (`scripts/screenshot.sh` redraws `docs/img/monitor.svg`).
pub const SVG_START: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"";

/// Writes the picture to `path`: a new file, or an earlier screenshot replaced whole; mode 0600
/// (it shows customer data); never another file, never through a symlink
/// ([`service::output_file::replace_private`]), and never in the folder the monitor reads.
fn write_private(path: &Path, dir: &Path, svg: &[u8]) -> Result<(), MonitorError> {
    let error = |source| MonitorError::WriteFile { path: path.to_owned(), source };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let (Ok(folder), Ok(dir)) = (folder.canonicalize(), dir.canonicalize()) {
        if folder == dir {
            return Err(error(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it is in the folder the monitor reads, which it never writes into; choose another folder",
            )));
        }
    }
    service::output_file::replace_private(path, svg, SVG_START.as_bytes()).map_err(error)
}

/// The screen of `app` in a buffer of `width` × `height` cells.
pub fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(never) => match never {},
    };
    if let Err(never) = terminal.draw(|frame| render(app, frame)) {
        match never {}
    }
    terminal.backend().buffer().clone()
}

/// The buffer as an SVG document.
pub fn to_svg(buffer: &Buffer) -> String {
    let area = buffer.area;
    let width_px = f64::from(area.width) * CELL_WIDTH;
    let height_px = u32::from(area.height) * ROW_HEIGHT;
    let mut backgrounds = String::new();
    let mut texts = String::new();
    for y in 0..area.height {
        let mut x = 0;
        while x < area.width {
            let first = &buffer[(area.x + x, area.y + y)];
            let mut run = String::new();
            let start = x;
            while x < area.width && same_style(first, &buffer[(area.x + x, area.y + y)]) {
                run.push_str(buffer[(area.x + x, area.y + y)].symbol());
                x += 1;
            }
            let cells = x - start;
            let (foreground, background) = colors(first);
            let left = f64::from(start) * CELL_WIDTH;
            let top = u32::from(y) * ROW_HEIGHT;
            let run_width = f64::from(cells) * CELL_WIDTH;
            if background != DEFAULT_BACKGROUND {
                let _ = writeln!(
                    backgrounds,
                    r#"<rect x="{left:.1}" y="{top}" width="{run_width:.1}" height="{ROW_HEIGHT}" fill="{background}"/>"#
                );
            }
            if run.trim().is_empty() {
                continue;
            }
            let mut attributes = String::new();
            if first.modifier.contains(Modifier::BOLD) {
                attributes.push_str(r#" font-weight="bold""#);
            }
            if first.modifier.contains(Modifier::ITALIC) {
                attributes.push_str(r#" font-style="italic""#);
            }
            if first.modifier.contains(Modifier::UNDERLINED) {
                attributes.push_str(r#" text-decoration="underline""#);
            }
            let baseline = top + FONT_SIZE;
            let _ = writeln!(
                texts,
                r#"<text x="{left:.1}" y="{baseline}" fill="{foreground}" textLength="{run_width:.1}" lengthAdjust="spacingAndGlyphs"{attributes}>{}</text>"#,
                escape(&run)
            );
        }
    }
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h}" viewBox="0 0 {w:.1} {h}">"#,
            "\n",
            r#"<rect width="100%" height="100%" fill="{bg}"/>"#,
            "\n{backgrounds}",
            r#"<g font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="{font}" xml:space="preserve">"#,
            "\n{texts}</g>\n</svg>\n"
        ),
        w = width_px,
        h = height_px,
        bg = DEFAULT_BACKGROUND,
        font = FONT_SIZE,
        backgrounds = backgrounds,
        texts = texts,
    )
}

fn same_style(a: &Cell, b: &Cell) -> bool {
    a.fg == b.fg && a.bg == b.bg && a.modifier == b.modifier
}

/// Foreground and background of a cell, reversed when it says so.
fn colors(cell: &Cell) -> (String, String) {
    let foreground = hex(cell.fg).unwrap_or_else(|| DEFAULT_FOREGROUND.to_owned());
    let background = hex(cell.bg).unwrap_or_else(|| DEFAULT_BACKGROUND.to_owned());
    if cell.modifier.contains(Modifier::REVERSED) {
        (background, foreground)
    } else {
        (foreground, background)
    }
}

/// The colour as `#rrggbb`; `None` for the terminal's default.
fn hex(color: Color) -> Option<String> {
    let rgb = match color {
        Color::Reset => return None,
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
        Color::Rgb(red, green, blue) => u32::from_be_bytes([0, red, green, blue]),
        Color::Indexed(index) => indexed(index),
    };
    Some(format!("#{rgb:06x}"))
}

/// The xterm 256-colour palette.
fn indexed(index: u8) -> u32 {
    match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let level = |value: u8| if value == 0 { 0 } else { 55 + 40 * u32::from(value) };
            let cube = index - 16;
            (level(cube / 36) << 16) | (level(cube / 6 % 6) << 8) | level(cube % 6)
        }
        _ => {
            let gray = 8 + 10 * u32::from(index - 232);
            (gray << 16) | (gray << 8) | gray
        }
    }
}

/// Text escaped for XML.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            control if control.is_control() => escaped.push('?'),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn svg_holds_the_text_escaped_with_its_colours() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 20, 2));
        buffer.set_string(0, 0, "a<b>&c 123456789", Style::new().fg(Color::Cyan));
        buffer.set_string(0, 1, "bold", Style::new().bg(Color::Red).add_modifier(Modifier::BOLD));
        let svg = to_svg(&buffer);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(svg.contains(">a&lt;b&gt;&amp;c 123456789</text>"), "{svg}");
        assert!(svg.contains("fill=\"#11a8cd\""), "cyan text: {svg}");
        assert!(
            svg.contains("<rect x=\"0.0\" y=\"18\" width=\"33.6\" height=\"18\" fill=\"#cd3131\"/>"),
            "{svg}"
        );
        assert!(svg.contains("font-weight=\"bold\">bold</text>"), "{svg}");
        // Every element opened is closed: as many `<text` as `</text>`, no raw `<` or `&` in text.
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        for text in svg.split("<text").skip(1) {
            let content = &text[text.find('>').unwrap() + 1..text.find("</text>").unwrap()];
            assert!(!content.contains('<'), "{content}");
            assert!(content.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").find('&').is_none());
        }
    }

    #[test]
    fn reversed_cells_swap_their_colours() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
        buffer.set_string(0, 0, "ab", Style::new().add_modifier(Modifier::REVERSED));
        let svg = to_svg(&buffer);
        assert!(svg.contains(&format!("fill=\"{DEFAULT_FOREGROUND}\"/>")), "background: {svg}");
        assert!(svg.contains(&format!("fill=\"{DEFAULT_BACKGROUND}\" textLength")), "text: {svg}");
    }

    #[test]
    fn palette() {
        assert_eq!(hex(Color::Rgb(1, 2, 3)).as_deref(), Some("#010203"));
        assert_eq!(hex(Color::Indexed(196)).as_deref(), Some("#ff0000"));
        assert_eq!(hex(Color::Indexed(232)).as_deref(), Some("#080808"));
        assert_eq!(hex(Color::Reset), None);
        assert_eq!(escape("\u{1}'\""), "?&apos;&quot;");
    }
}

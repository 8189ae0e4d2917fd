//! Making figures fit without cutting them: `k`/`M` suffixes, ids shortened in the middle so
//! they stay distinct, tables whose columns are sized to their content, "+N more" rows.
//!
//! The rule: a figure is shown whole, or with an honest suffix (`1.2M`), or not at all with a
//! sign saying so ("+3 more", "2 columns hidden"); never with its last digits cut off by the
//! edge of a panel. Exact values stay in `--json`.

use std::collections::HashSet;

/// The narrowest an instance id is shortened to (`order…-1a-01`).
pub const ID_MIN_WIDTH: usize = 8;

/// `999`, `9999`, `12k`, `1.2M`, `123M`, `1.2G`: for when space is short.
pub fn compact_number(value: u64) -> String {
    let scaled = |unit: f64, suffix: &str| {
        let amount = value as f64 / unit;
        // Rounded down, so that 999,999 reads 999k and never a rounded-up 1000k.
        if amount < 10.0 {
            format!("{:.1}{suffix}", (amount * 10.0).floor() / 10.0)
        } else {
            format!("{:.0}{suffix}", amount.floor())
        }
    };
    match value {
        0..=9_999 => value.to_string(),
        10_000..=999_999 => scaled(1e3, "k"),
        1_000_000..=999_999_999 => scaled(1e6, "M"),
        _ => scaled(1e9, "G"),
    }
}

/// [`compact_number`] with a sign.
pub fn compact_signed(value: i64) -> String {
    let magnitude = compact_number(value.unsigned_abs());
    if value < 0 {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

/// Characters on screen (the ids and figures shown are ASCII or one cell per character).
pub fn text_width(text: &str) -> usize {
    text.chars().count()
}

/// `id` in at most `width` characters: the start, `…`, and the end, where ids of one fleet
/// differ (`order-tracker-eu-west-1a-01` → `order…-1a-01` at 12).
pub fn shorten_middle(id: &str, width: usize) -> String {
    let length = text_width(id);
    if length <= width {
        return id.to_owned();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut text: String = id.chars().take(head).collect();
    text.push('…');
    text.extend(id.chars().skip(length - tail));
    text
}

/// The narrowest width, from `floor` up, at which every id shortened by [`shorten_middle`]
/// stays distinct from the others (the longest id's length when only that works).
pub fn distinct_width<'a>(ids: impl IntoIterator<Item = &'a str> + Clone, floor: usize) -> usize {
    let longest = ids.clone().into_iter().map(text_width).max().unwrap_or(0);
    let distinct_given = ids.clone().into_iter().collect::<HashSet<_>>().len();
    (floor.min(longest)..longest)
        .find(|&width| {
            ids.clone().into_iter().map(|id| shorten_middle(id, width)).collect::<HashSet<_>>().len()
                == distinct_given
        })
        .unwrap_or(longest)
}

/// `text` in at most `width` characters, ending with `…` when it had to be cut. For sentences,
/// never for figures.
pub fn ellipsize(text: &str, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// Whole items (`created 3`, `paid 2`) laid out in lines of at most `width` characters,
/// separated by two spaces; an item longer than a line gets its own line, ellipsized.
pub fn wrap_items(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for item in items {
        let needed =
            if current.is_empty() { text_width(item) } else { text_width(&current) + 2 + text_width(item) };
        if needed <= width {
            if !current.is_empty() {
                current.push_str("  ");
            }
            current.push_str(item);
        } else {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current = ellipsize(item, width);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// How a column may give up width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Short words (a status, an age): shown as they are, left-aligned.
    Text,
    /// Instance ids: shortened in the middle, never below the width that keeps them distinct.
    Id,
    /// Figures: right-aligned, exact, or their compact form when space is short.
    Number,
    /// A sentence (a reason): gives up width first, ending with `…`; never a figure.
    Sentence,
}

/// One cell: the exact text, and the compact form for when space is short (the same text when
/// there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitCell {
    /// As written in `--json`.
    pub exact: String,
    /// With a `k`/`M` suffix, or a range of partitions.
    pub compact: String,
}

impl FitCell {
    /// A cell without a shorter form.
    pub fn text(text: impl Into<String>) -> FitCell {
        let exact = text.into();
        FitCell { compact: exact.clone(), exact }
    }

    /// A count.
    pub fn count(value: u64) -> FitCell {
        FitCell { exact: value.to_string(), compact: compact_number(value) }
    }

    /// A signed figure (an offset, a lag).
    pub fn signed(value: i64) -> FitCell {
        FitCell { exact: value.to_string(), compact: compact_signed(value) }
    }

    /// An optional count, `-` when unknown.
    pub fn optional_count(value: Option<u64>) -> FitCell {
        value.map_or_else(|| FitCell::text("-"), FitCell::count)
    }

    /// An optional signed figure, `-` when absent.
    pub fn optional(value: Option<i64>) -> FitCell {
        value.map_or_else(|| FitCell::text("-"), FitCell::signed)
    }

    /// A rate with one decimal.
    pub fn rate(value: f64) -> FitCell {
        let exact = format!("{value:.1}");
        let compact = if value >= 10_000.0 { compact_number(value as u64) } else { exact.clone() };
        FitCell { exact, compact }
    }
}

/// One column of a fitted table.
#[derive(Debug, Clone)]
pub struct FitColumn {
    /// Its title.
    pub header: &'static str,
    /// How it may shrink.
    pub kind: ColumnKind,
    /// One cell per row.
    pub cells: Vec<FitCell>,
}

/// How a table is drawn in a given width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// Width of each shown column (the first `widths.len()` columns).
    pub widths: Vec<usize>,
    /// Whether each shown column uses the compact forms.
    pub compact: Vec<bool>,
    /// Columns left out on the right because even compact forms did not fit.
    pub hidden_columns: usize,
}

impl Fitted {
    /// The text of row `row` of `column`, padded to the column's width and aligned.
    pub fn cell_text(&self, column: &FitColumn, index: usize, row: usize) -> String {
        let Some(cell) = column.cells.get(row) else { return String::new() };
        let width = self.widths[index];
        match column.kind {
            ColumnKind::Id => format!("{:<width$}", shorten_middle(&cell.exact, width)),
            ColumnKind::Text => format!("{:<width$}", cell.exact),
            ColumnKind::Sentence => format!("{:<width$}", ellipsize(&cell.exact, width)),
            ColumnKind::Number => {
                let text = if self.compact[index] { &cell.compact } else { &cell.exact };
                format!("{text:>width$}")
            }
        }
    }

    /// The column's title, aligned like its cells.
    pub fn header_text(&self, column: &FitColumn, index: usize) -> String {
        let width = self.widths[index];
        match column.kind {
            ColumnKind::Number => format!("{:>width$}", column.header),
            _ => format!("{:<width$}", column.header),
        }
    }
}

/// Column widths for `columns` in `width` characters, columns separated by one space: exact
/// values when they fit; else ids shortened (staying distinct); else compact figures, widest
/// column first; else columns left out from the right.
pub fn fit_columns(columns: &[FitColumn], width: usize) -> Fitted {
    let exact_width = |column: &FitColumn| {
        column
            .cells
            .iter()
            .map(|cell| text_width(&cell.exact))
            .max()
            .unwrap_or(0)
            .max(text_width(column.header))
    };
    let compact_width = |column: &FitColumn| {
        column
            .cells
            .iter()
            .map(|cell| text_width(&cell.compact))
            .max()
            .unwrap_or(0)
            .max(text_width(column.header))
    };
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + widths.len().saturating_sub(1);
    let mut widths: Vec<usize> = columns.iter().map(exact_width).collect();
    let mut compact = vec![false; columns.len()];
    // Sentences give up what they can first, down to their title or 12 characters.
    for (index, column) in columns.iter().enumerate() {
        let excess = total(&widths).saturating_sub(width);
        if column.kind == ColumnKind::Sentence && excess > 0 {
            let floor = text_width(column.header).max(12).min(widths[index]);
            widths[index] = widths[index].saturating_sub(excess).max(floor);
        }
    }
    // Ids give up what they can, down to the width that keeps them distinct.
    for (index, column) in columns.iter().enumerate() {
        let excess = total(&widths).saturating_sub(width);
        if column.kind == ColumnKind::Id && excess > 0 {
            let floor = distinct_width(column.cells.iter().map(|cell| cell.exact.as_str()), ID_MIN_WIDTH)
                .max(text_width(column.header));
            widths[index] = widths[index].saturating_sub(excess).max(floor).min(widths[index]);
        }
    }
    // Then figures take their compact form, the widest saving first.
    while total(&widths) > width {
        let best = columns
            .iter()
            .enumerate()
            .filter(|(index, column)| column.kind == ColumnKind::Number && !compact[*index])
            .map(|(index, column)| (index, widths[index].saturating_sub(compact_width(column))))
            .max_by_key(|(_, saving)| *saving);
        match best {
            Some((index, _)) => {
                compact[index] = true;
                widths[index] = compact_width(&columns[index]);
            }
            None => break,
        }
    }
    // Then whole columns go, from the right; the first one always stays.
    let mut hidden_columns = 0;
    while total(&widths) > width && widths.len() > 1 {
        widths.pop();
        compact.pop();
        hidden_columns += 1;
    }
    // Room left once figures turned compact goes back to the ids, then to the sentences.
    for kind in [ColumnKind::Id, ColumnKind::Sentence] {
        for (index, column) in columns.iter().enumerate().take(widths.len()) {
            let slack = width.saturating_sub(total(&widths));
            if column.kind == kind && slack > 0 {
                widths[index] = (widths[index] + slack).min(exact_width(column));
            }
        }
    }
    Fitted { widths, compact, hidden_columns }
}

/// Which rows of a list of `total` rows scrolled by `scroll` are drawn in `slots` lines, and
/// how many are left below: when rows are left, the last slot says "+N more".
pub fn visible_rows(total: usize, scroll: usize, slots: usize) -> (std::ops::Range<usize>, usize) {
    let start = scroll.min(total);
    let left = total - start;
    if left <= slots {
        return (start..total, 0);
    }
    let shown = slots.saturating_sub(1);
    (start..start + shown, left - shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers_never_round_up() {
        assert_eq!(compact_number(9_999), "9999");
        assert_eq!(compact_number(12_345), "12k");
        assert_eq!(compact_number(999_999), "999k");
        assert_eq!(compact_number(1_234_567), "1.2M");
        assert_eq!(compact_number(1_999_999), "1.9M");
        assert_eq!(compact_number(123_456_789), "123M");
        assert_eq!(compact_number(u64::MAX), "18446744073G");
        assert_eq!(compact_signed(-1_234_567), "-1.2M");
    }

    #[test]
    fn ids_shortened_in_the_middle_stay_distinct() {
        let ids: Vec<String> = (1..=5).map(|n| format!("order-tracker-eu-west-1a-{n:02}")).collect();
        let width = distinct_width(ids.iter().map(String::as_str), ID_MIN_WIDTH);
        let short: HashSet<String> = ids.iter().map(|id| shorten_middle(id, width)).collect();
        assert_eq!(short.len(), 5, "{short:?}");
        assert!(width <= 10, "{width}");
        assert_eq!(shorten_middle("order-tracker-eu-west-1a-01", 12), "order…-1a-01");
        assert_eq!(shorten_middle("short", 12), "short");
        // Ids that differ only in the middle keep enough of it.
        let ids = ["tracker-a-00000000000000000-x", "tracker-b-00000000000000000-x"];
        let width = distinct_width(ids, ID_MIN_WIDTH);
        assert_ne!(shorten_middle(ids[0], width), shorten_middle(ids[1], width));
    }

    #[test]
    fn wrapping_keeps_items_whole() {
        let items: Vec<String> = ["created 3", "paid 2", "shipped 10"].map(String::from).to_vec();
        assert_eq!(wrap_items(&items, 18), ["created 3  paid 2", "shipped 10"]);
        assert_eq!(wrap_items(&items, 5), ["crea…", "paid…", "ship…"]);
        assert_eq!(ellipsize("abcdef", 4), "abc…");
    }

    fn number_column(header: &'static str, values: &[u64]) -> FitColumn {
        FitColumn {
            header,
            kind: ColumnKind::Number,
            cells: values.iter().map(|&v| FitCell::count(v)).collect(),
        }
    }

    #[test]
    fn columns_shrink_in_order() {
        let ids = FitColumn {
            header: "instance",
            kind: ColumnKind::Id,
            cells: (1..=3).map(|n| FitCell::text(format!("order-tracker-eu-west-1a-{n:02}"))).collect(),
        };
        let columns =
            [ids, number_column("recv", &[123_456_789, 5, 6]), number_column("proc", &[987_654_321, 1, 2])];
        // Everything exact: 27 + 1 + 9 + 1 + 9.
        let wide = fit_columns(&columns, 47);
        assert_eq!((wide.widths.clone(), wide.compact.clone()), (vec![27, 9, 9], vec![false, false, false]));
        assert_eq!(wide.cell_text(&columns[1], 1, 0), "123456789");
        assert_eq!(wide.cell_text(&columns[1], 1, 1), "        5", "figures are right-aligned");
        // Ids shorten first.
        let narrower = fit_columns(&columns, 35);
        assert_eq!(narrower.widths, vec![15, 9, 9]);
        assert_eq!(narrower.compact, vec![false, false, false]);
        // Then figures turn compact.
        let narrow = fit_columns(&columns, 20);
        assert_eq!(narrow.compact, vec![false, true, true]);
        assert_eq!(narrow.cell_text(&columns[1], 1, 0), "123M");
        assert_eq!(narrow.hidden_columns, 0);
        // Then columns go, and the table says how many.
        let tiny = fit_columns(&columns, 12);
        assert_eq!(tiny.hidden_columns, 2);
    }

    #[test]
    fn sentences_give_way_before_figures() {
        let reason = FitColumn {
            header: "reason",
            kind: ColumnKind::Sentence,
            cells: vec![FitCell::text("total is 31945 cents but subtotal + shipping + tax is 31944 cents")],
        };
        let columns = [number_column("offset", &[123_456_789]), reason];
        let fitted = fit_columns(&columns, 30);
        assert_eq!(fitted.compact, vec![false, false]);
        assert_eq!(fitted.widths, vec![9, 20]);
        assert_eq!(fitted.cell_text(&columns[1], 1, 0), "total is 31945 cent…");
    }

    #[test]
    fn rows_that_do_not_fit_are_counted() {
        assert_eq!(visible_rows(3, 0, 5), (0..3, 0));
        assert_eq!(visible_rows(10, 0, 5), (0..4, 6));
        assert_eq!(visible_rows(10, 6, 5), (6..10, 0));
        assert_eq!(visible_rows(10, 20, 5), (10..10, 0));
        assert_eq!(visible_rows(10, 0, 0), (0..0, 10));
    }
}

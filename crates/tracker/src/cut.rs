//! Dead letters too large to send whole.
//!
//! A dead letter is the original record plus context headers, so a record that fits its topic
//! can make a dead letter that does not (a payload near the limit; many headers named `dlq.*`,
//! each 9 bytes longer as `original.dlq.*`). Sending it again cannot help, and stopping would
//! stop every tracker that takes the partition in turn. So, on a size refusal (librdkafka's
//! own check against the producer's `message.max.bytes`, or the broker's against the topic's
//! `max.message.bytes`: both `MSG_SIZE_TOO_LARGE`):
//!
//! 1. the whole record is kept in a file beside the audit files ([`keep`]: mode 0600, created
//!    new, never through a symlink, complete before it has its name), before anything cut is
//!    sent, so the offset is never stored while the record exists nowhere whole;
//! 2. a cut dead letter is sent ([`cut`]): every context header, then the key, the first
//!    original headers and the first payload bytes that fit in a budget, with `dlq.cut.*`
//!    headers saying what was cut, the whole record's size and SHA-256 and the kept file;
//! 3. the budget starts at `message.max.bytes` less a framing margin (or ¾ of the refused
//!    letter, when that is smaller: the broker's limit was below the producer's) and halves at
//!    each further size refusal; the last try keeps nothing but the context.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use deadletter::headers as dlq_headers;
use kafka::headers::RawHeader;

/// What Kafka's framing may add to a record beyond its key, payload and headers: the record
/// batch header (61 bytes), the record's own fields, varint lengths. Generous on purpose.
pub const FRAMING_MARGIN_BYTES: u64 = 1024;
/// Room counted for each header's two varint lengths.
const HEADER_OVERHEAD_BYTES: u64 = 10;
/// Below this budget, nothing but the context is kept.
const SMALLEST_BUDGET_BYTES: u64 = 4 * 1024;

/// The size a letter is counted as: key, payload, headers with their lengths.
pub fn letter_bytes(letter: &crate::dlq::Letter<'_>) -> u64 {
    let len = |bytes: Option<&[u8]>| bytes.map_or(0, |b| b.len() as u64);
    len(letter.key)
        + len(letter.payload)
        + letter
            .headers
            .iter()
            .map(|(n, v)| n.len() as u64 + len(v.as_deref()) + HEADER_OVERHEAD_BYTES)
            .sum::<u64>()
        + letter.context.iter().map(|(n, v)| (n.len() + v.len()) as u64 + HEADER_OVERHEAD_BYTES).sum::<u64>()
}

/// The budget of the next try after a size refusal of a letter of `refused_bytes`
/// ([`letter_bytes`]); `previous` is the budget of the refused letter when it was already cut.
pub fn next_budget(previous: Option<u64>, max_message_bytes: u64, refused_bytes: u64) -> u64 {
    let budget = match previous {
        // Above the producer's limit: librdkafka refused it, the limit is known.
        None if refused_bytes > max_message_bytes => max_message_bytes.saturating_sub(FRAMING_MARGIN_BYTES),
        // Within it: the broker's limit is lower, and unknown.
        None => (refused_bytes / 4 * 3).min(max_message_bytes.saturating_sub(FRAMING_MARGIN_BYTES)),
        Some(previous) => previous / 2,
    };
    if budget < SMALLEST_BUDGET_BYTES {
        0
    } else {
        budget
    }
}

/// What went into a cut letter, for its headers and the `dlq_cut` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutSummary {
    /// The budget it was cut to.
    pub budget_bytes: u64,
    /// The key was kept.
    pub key_kept: bool,
    /// Payload bytes kept (the first ones).
    pub payload_bytes_kept: u64,
    /// Original headers kept (the first ones).
    pub headers_kept: u64,
}

/// A cut letter's parts: what to send, borrowed from the whole one.
#[derive(Debug, Clone)]
pub struct CutLetter<'a> {
    /// The key, when kept.
    pub key: Option<&'a [u8]>,
    /// The first payload bytes.
    pub payload: Option<&'a [u8]>,
    /// The first original headers.
    pub headers: &'a [RawHeader],
    /// The context headers, then the `dlq.cut.*` ones.
    pub context: Vec<(&'static str, String)>,
    /// What was kept.
    pub summary: CutSummary,
}

/// Where and what the whole record is, for the `dlq.cut.*` headers.
#[derive(Debug, Clone)]
pub struct Whole<'a> {
    /// The original key.
    pub key: Option<&'a [u8]>,
    /// The original payload.
    pub payload: Option<&'a [u8]>,
    /// The original headers as the dead letter carries them (`dlq::original_headers`).
    pub headers: &'a [RawHeader],
    /// `models::kept::record_bytes` of the original record.
    pub original_bytes: u64,
    /// `models::kept::record_sha256` of the original record.
    pub original_sha256: &'a str,
    /// The kept file's name (in the tracker's log folder).
    pub kept_file: &'a str,
}

/// `KEPT/TOTAL`, or `-` when there is nothing.
fn fraction(kept: u64, total: Option<u64>) -> String {
    total.map_or_else(|| "-".to_owned(), |total| format!("{kept}/{total}"))
}

/// The letter that fits `budget` (see the module documentation): the context and the
/// `dlq.cut.*` headers always; then the key, if it fits; the first original headers, up to
/// half of what is left; the first payload bytes in the rest.
pub fn cut<'a>(
    whole: &Whole<'a>,
    context: &[(&'static str, String)],
    budget: u64,
    reason: &str,
) -> CutLetter<'a> {
    let describe = |summary: &CutSummary| {
        let mut headers = context.to_vec();
        headers.extend([
            (dlq_headers::CUT_ORIGINAL_BYTES, whole.original_bytes.to_string()),
            (dlq_headers::CUT_ORIGINAL_SHA256, whole.original_sha256.to_owned()),
            (
                dlq_headers::CUT_KEY,
                fraction(
                    if summary.key_kept { whole.key.map_or(0, |k| k.len() as u64) } else { 0 },
                    whole.key.map(|k| k.len() as u64),
                ),
            ),
            (
                dlq_headers::CUT_PAYLOAD,
                fraction(summary.payload_bytes_kept, whole.payload.map(|p| p.len() as u64)),
            ),
            (dlq_headers::CUT_HEADERS, fraction(summary.headers_kept, Some(whole.headers.len() as u64))),
            (dlq_headers::CUT_KEPT_FILE, whole.kept_file.to_owned()),
            // The refusal can be long (a broker's text): its first 200 characters.
            (dlq_headers::CUT_REASON, reason.chars().take(200).collect()),
        ]);
        headers
    };
    // The description's own size, with the largest figures it can hold.
    let widest = CutSummary {
        budget_bytes: budget,
        key_kept: true,
        payload_bytes_kept: u64::MAX,
        headers_kept: u64::MAX,
    };
    let fixed = letter_bytes(&crate::dlq::Letter {
        key: None,
        payload: None,
        headers: &[],
        context: &describe(&widest),
    });
    let mut left = budget.saturating_sub(fixed);

    let key_len = whole.key.map_or(0, |k| k.len() as u64);
    let key_kept = whole.key.is_some() && key_len <= left / 4;
    if key_kept {
        left -= key_len;
    }
    let mut headers_kept = 0;
    let mut header_room = left / 2;
    for (name, value) in whole.headers {
        let size = name.len() as u64 + value.as_ref().map_or(0, |v| v.len() as u64) + HEADER_OVERHEAD_BYTES;
        if size > header_room {
            break;
        }
        header_room -= size;
        left -= size;
        headers_kept += 1;
    }
    let payload = whole.payload.map(|payload| {
        let kept = usize::try_from(left).unwrap_or(usize::MAX).min(payload.len());
        &payload[..kept]
    });
    let summary = CutSummary {
        budget_bytes: budget,
        key_kept,
        payload_bytes_kept: payload.map_or(0, |p| p.len() as u64),
        headers_kept,
    };
    CutLetter {
        key: if key_kept { whole.key } else { None },
        payload,
        headers: &whole.headers[..usize::try_from(headers_kept).unwrap_or(0)],
        context: describe(&summary),
        summary,
    }
}

/// The kept file's name: `tracker-<instance>.kept-<topic>-<partition>-<offset>-<sha256, 16 hex>.json`.
/// Topic names and instance ids hold only letters, digits, `.`, `_` and `-`, so it is one
/// safe file name; the hash tells apart two records that had the same position in two
/// lifetimes of a broker.
pub fn kept_file_name(instance_id: &str, topic: &str, partition: i32, offset: i64, sha256: &str) -> String {
    let short: String = sha256.chars().take(16).collect();
    format!("tracker-{instance_id}.kept-{topic}-{partition}-{offset}-{short}.json")
}

/// Writes `content` as the file `name` in `dir`, mode 0600, complete before it has its name:
/// it is written and synced under a private temporary name (created new, so never through a
/// symlink), then hard-linked to `name`, which never replaces anything. When `name` already
/// exists as a regular file with exactly this content (the same record delivered again after
/// a restart), it is kept as it is; anything else there is an error, and nothing is written
/// over it.
pub fn keep(dir: &Path, name: &str, content: &[u8]) -> std::io::Result<()> {
    let target = dir.join(name);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let temporary = dir.join(format!(".{name}.{}-{nanos}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
        file.write_all(content)?;
        file.sync_data()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, &target));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let metadata = std::fs::symlink_metadata(&target)?;
            if metadata.file_type().is_file() && std::fs::read(&target)? == content {
                Ok(())
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not this record's kept file; refusing to write over it",
                        target.display()
                    ),
                ))
            }
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn context() -> Vec<(&'static str, String)> {
        vec![
            (dlq_headers::ORIGINAL_TOPIC, "orders".to_owned()),
            (dlq_headers::ERROR_KIND, "deserialization".to_owned()),
        ]
    }

    fn header(index: usize) -> RawHeader {
        (format!("original.dlq.x{index}").into_bytes(), Some(b"v".to_vec()))
    }

    #[test]
    fn a_cut_letter_fits_its_budget_and_says_what_it_kept() {
        let payload = vec![b'x'; 100_000];
        let headers: Vec<RawHeader> = (0..2_000).map(header).collect();
        let whole = Whole {
            key: Some(b"key"),
            payload: Some(&payload),
            headers: &headers,
            original_bytes: 1,
            original_sha256: "ab",
            kept_file: "f.json",
        };
        for budget in [60_000, 20_000, 4_096] {
            let letter = cut(&whole, &context(), budget, "Message size too large");
            let sent = crate::dlq::Letter {
                key: letter.key,
                payload: letter.payload,
                headers: letter.headers,
                context: &letter.context,
            };
            assert!(letter_bytes(&sent) <= budget, "{budget}: {}", letter_bytes(&sent));
            assert!(letter.summary.headers_kept < 2_000 && letter.summary.payload_bytes_kept > 0, "{budget}");
            let value = |name: &str| letter.context.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
            assert_eq!(
                value("dlq.cut.payload"),
                Some(format!("{}/100000", letter.summary.payload_bytes_kept))
            );
            assert_eq!(value("dlq.cut.headers"), Some(format!("{}/2000", letter.summary.headers_kept)));
            assert_eq!(value("dlq.cut.key"), Some("3/3".to_owned()));
            assert_eq!(value("dlq.cut.kept.file"), Some("f.json".to_owned()));
            assert_eq!(
                value("dlq.error.kind"),
                Some("deserialization".to_owned()),
                "the context is all there"
            );
        }
        let bare = cut(&whole, &context(), 0, "too large");
        assert_eq!((bare.key, bare.summary.payload_bytes_kept, bare.headers.len()), (None, 0, 0));
        assert_eq!(bare.payload, Some(&[][..]), "an empty payload, not a tombstone");
    }

    #[test]
    fn budgets_start_below_the_limit_and_halve_down_to_context_only() {
        assert_eq!(next_budget(None, 2_000_000, 2_100_000), 2_000_000 - FRAMING_MARGIN_BYTES);
        assert_eq!(next_budget(None, 2_000_000, 1_200_000), 900_000, "a broker limit below the producer's");
        assert_eq!(next_budget(Some(900_000), 2_000_000, 0), 450_000);
        assert_eq!(next_budget(Some(6_000), 2_000_000, 0), 0);
    }

    #[test]
    fn keep_writes_0600_never_over_another_file_and_accepts_the_same_record_again() {
        let dir = tempfile::tempdir().unwrap();
        keep(dir.path(), "k.json", b"record\n").unwrap();
        let path = dir.path().join("k.json");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        keep(dir.path(), "k.json", b"record\n").expect("the same record delivered again");
        assert!(keep(dir.path(), "k.json", b"other\n").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"record\n");

        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"mine").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("s.json")).unwrap();
        assert!(keep(dir.path(), "s.json", b"record\n").is_err(), "never through a symlink");
        assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
    }
}

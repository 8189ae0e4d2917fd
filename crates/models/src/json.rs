//! The pieces of JSON the hot paths write by hand, byte for byte what `serde_json` writes.
//!
//! A tracker writes one audit line per message, and most of its bytes are the payload again,
//! as an escaped JSON string. `serde_json` escapes a byte at a time and writes every run
//! between two escapes separately; [`write_str`] looks at sixteen bytes at a time (SSE2 on
//! x86-64, eight with integer tricks elsewhere) and copies each run once. The property tests
//! below hold both to `serde_json`'s output for any text.

/// What a byte becomes inside a JSON string: 0 for itself, `u` for `\u00XX`, else the letter
/// after the backslash. The same escapes as `serde_json` (and no more: U+2028 and DEL stay).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Where the first byte of `word` (read little-endian) that needs escaping is: a control
/// character, `"` or `\`; 8 when none does. The classic "has a zero byte" and "has a byte
/// less than n" bit tricks: each may flag a byte after a true match by mistake (a borrow
/// carries upwards), never one before it, so the lowest flag is always a true match.
fn first_escape(word: u64) -> usize {
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w;
    let flags = (below_space | zero_byte(quote) | zero_byte(backslash)) & HIGHS;
    flags.trailing_zeros() as usize / 8
}

/// Appends `text` as a JSON string, quotes included.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    #[cfg(target_arch = "x86_64")]
    {
        write_str_sse2(out, text);
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        write_str_words(out, text);
    }
}

/// [`write_str`] sixteen bytes at a time with SSE2 (part of every x86-64 CPU). One compare
/// flags every byte of a block that needs escaping, and the block is stored whole (one
/// 16-byte store, no call to `memcpy`). Each flagged byte is then written over with its escape
/// and the rest of the block stored again right after it, sixteen bytes at once. A payload's
/// JSON has a quote every seven bytes or so: copying its short runs one by one was most of
/// the cost.
#[cfg(target_arch = "x86_64")]
#[doc(hidden)]
pub fn write_str_sse2(out: &mut Vec<u8>, text: &str) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
    /// The most one block can write: sixteen `\u00XX` escapes, and a last store's slack.
    const BLOCK_ROOM: usize = 16 * 6 + 16;
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut block = 0;
    // Up to the last 32 bytes: a store after an escape reads the 16 bytes that follow it,
    // which may reach into the next block but never past the end.
    while block + 32 <= bytes.len() {
        out.reserve(BLOCK_ROOM);
        // SAFETY: SSE2 is part of the x86-64 baseline, so these instructions exist on every
        // CPU this code is compiled for. Every load reads 16 bytes starting at most 16 bytes
        // after `block`, so before `block + 32 <= bytes.len()`; every store writes 16 bytes
        // (or an escape of at most 6) at most 6 * 16 bytes after `out.len()`, within the
        // `BLOCK_ROOM` reserved; no access needs alignment. `set_len` covers only bytes
        // written: the block's, with its escapes.
        unsafe {
            let start = out.as_mut_ptr().add(out.len());
            let chunk = _mm_loadu_si128(bytes.as_ptr().add(block).cast::<__m128i>());
            _mm_storeu_si128(start.cast::<__m128i>(), chunk);
            let mut flags = escape_flags(chunk);
            // `run`: where the bytes being stored start in `bytes`; `to`: where they go.
            let (mut run, mut to) = (block, start);
            while flags != 0 {
                let at = block + flags.trailing_zeros() as usize;
                let byte = bytes[at];
                let escape = escape_of(byte, ESCAPE[usize::from(byte)]);
                let escape_at = to.add(at - run);
                // All six bytes, whatever the escape's length: a fixed-size copy is one store,
                // and what follows the escape is written over next.
                std::ptr::copy_nonoverlapping(escape.as_ptr(), escape_at, 6);
                run = at + 1;
                to = escape_at.add(escape.len());
                let rest = _mm_loadu_si128(bytes.as_ptr().add(run).cast::<__m128i>());
                _mm_storeu_si128(to.cast::<__m128i>(), rest);
                flags &= flags - 1;
            }
            let end = to.add(block + 16 - run);
            out.set_len(end.offset_from(out.as_ptr()) as usize);
        }
        block += 16;
    }
    // The last 16 to 31 bytes (most of an order's strings are that short): their last block
    // is looked at whole, and its clean runs copied between the escapes.
    let mut copied = block;
    if let Some(chunk) = bytes.get(block..block + 16) {
        // SAFETY: SSE2 as above; `chunk` is 16 readable bytes, loaded without alignment.
        let mut flags = unsafe { escape_flags(_mm_loadu_si128(chunk.as_ptr().cast::<__m128i>())) };
        while flags != 0 {
            let at = block + flags.trailing_zeros() as usize;
            out.extend_from_slice(&bytes[copied..at]);
            let byte = bytes[at];
            write_escape(out, byte, ESCAPE[usize::from(byte)]);
            copied = at + 1;
            flags &= flags - 1;
        }
        out.extend_from_slice(&bytes[copied..block + 16]);
        copied = block + 16;
    }
    write_tail(out, &bytes[copied..]);
    out.push(b'"');
}

/// One bit for each byte of `block` that needs escaping: a control character, `"` or `\`.
///
/// # Safety
/// SSE2 must be available: it is on every x86-64 CPU.
#[cfg(target_arch = "x86_64")]
unsafe fn escape_flags(block: std::arch::x86_64::__m128i) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    let control = _mm_set1_epi8(0x1f);
    // max(byte, 0x1f) == 0x1f exactly when byte <= 0x1f (unsigned): a control character.
    let below_space = _mm_cmpeq_epi8(_mm_max_epu8(block, control), control);
    let quote = _mm_cmpeq_epi8(block, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(block, _mm_set1_epi8(b'\\' as i8));
    _mm_movemask_epi8(_mm_or_si128(below_space, _mm_or_si128(quote, backslash))) as u32
}

/// The escape of `byte` (`escape` is its [`ESCAPE`] entry, not 0): `\"`, `\n`... or
/// `\u00XX`, in a fixed array with its length.
fn escape_of(byte: u8, escape: u8) -> EscapeBytes {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if escape == b'u' {
        EscapeBytes {
            bytes: [b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]],
            len: 6,
        }
    } else {
        EscapeBytes { bytes: [b'\\', escape, 0, 0, 0, 0], len: 2 }
    }
}

/// An escape sequence: at most six bytes.
struct EscapeBytes {
    bytes: [u8; 6],
    len: usize,
}

impl EscapeBytes {
    fn as_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The last bytes of a string (fewer than sixteen), one at a time.
fn write_tail(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut copied = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape != 0 {
            out.extend_from_slice(&bytes[copied..at]);
            write_escape(out, byte, escape);
            copied = at + 1;
        }
    }
    out.extend_from_slice(&bytes[copied..]);
}

/// [`write_str`] eight bytes at a time in plain integer arithmetic (for other CPUs).
#[doc(hidden)]
pub fn write_str_words(out: &mut Vec<u8>, text: &str) {
    let mut bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Eight bytes at a time: copy them all (one store), then take back what follows the first
    // byte to escape, escape it, and go on after it.
    while let Some(word) = bytes.first_chunk::<8>() {
        let clean = first_escape(u64::from_le_bytes(*word));
        out.extend_from_slice(word);
        if clean == 8 {
            bytes = &bytes[8..];
            continue;
        }
        out.truncate(out.len() - (8 - clean));
        let byte = word[clean];
        write_escape(out, byte, ESCAPE[usize::from(byte)]);
        bytes = &bytes[clean + 1..];
    }
    write_tail(out, bytes);
    out.push(b'"');
}

fn write_escape(out: &mut Vec<u8>, byte: u8, escape: u8) {
    let escape = escape_of(byte, escape);
    out.extend_from_slice(&escape.bytes[..escape.len]);
}

/// Appends `"key":` (the key must need no escaping: the callers' keys are field names).
pub fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends an integer.
pub fn write_int(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_byte_that_needs_it_is_escaped_like_serde_json() {
        let all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        for text in [all.as_str(), "", "\"", "\\", "plain", "\u{2028}\u{7f}é🛒", "12345678\"9"] {
            assert_eq!(escaped(text), serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn escapes_at_every_position_of_a_word() {
        for position in 0..40 {
            for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
                let mut text = "abcdefghijklmnopqrstuvwxyz0123456789ABCD".to_owned();
                text.replace_range(position..=position, &special.to_string());
                assert_eq!(escaped(&text), serde_json::to_string(&text).unwrap(), "{text:?}");
                let mut portable = Vec::new();
                write_str_words(&mut portable, &text);
                assert_eq!(portable, escaped(&text).into_bytes(), "{text:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in any::<String>()) {
            prop_assert_eq!(escaped(&text), serde_json::to_string(&text).unwrap());
        }

        #[test]
        fn the_portable_writer_writes_what_serde_json_writes(text in r#"[a-z"\\{}:,\x00-\x1f é]{0,80}"#) {
            let mut out = Vec::new();
            write_str_words(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }

        #[test]
        fn json_like_text_is_written_as_serde_json_writes_it(text in r#"[a-z"\\{}:,\x00-\x1f ]{0,80}"#) {
            prop_assert_eq!(escaped(&text), serde_json::to_string(&text).unwrap());
        }
    }
}

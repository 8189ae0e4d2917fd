//! Record headers as raw bytes, read and written without rdkafka's `Headers` accessors.
//!
//! Header names and values are bytes on the wire; nothing makes a producer send UTF-8. Every
//! accessor of rdkafka 0.39's `Headers` trait (`get`, `try_get`, `get_as`, `try_get_as`,
//! `iter`) goes through `try_get`, which turns the name into `&str` with
//! `CStr::to_str().unwrap()`: one record with a name such as `0xff 0xfe` (kcat
//! `-H $'\xff\xfe=x'`) panics the consumer, and the record is never committed, so every
//! consumer that takes the partition dies on it in turn. And `OwnedHeaders::insert` takes
//! the name as `&str`, so such a header cannot be written back either.
//!
//! This module calls librdkafka's header functions directly: [`read`] copies names and values
//! as bytes and [`borrow`] lends them (neither can panic: no index is out of range and no
//! conversion can fail), and
//! [`owned`] builds headers to produce from bytes. One limit comes from librdkafka itself: it
//! hands names out as C strings, so a name is read up to its first NUL byte.

use std::ffi::{c_char, c_void, CStr};
use std::marker::PhantomData;
use std::ptr;

use rdkafka::bindings::{
    rd_kafka_header_add, rd_kafka_header_cnt, rd_kafka_header_get_all, rd_kafka_headers_t,
};
use rdkafka::message::{BorrowedHeaders, OwnedHeaders};
use rdkafka::types::RDKafkaRespErr;

/// One header: its name and its value (`None` for a null value), both as raw bytes.
pub type RawHeader = (Vec<u8>, Option<Vec<u8>>);

/// One header borrowed from a record: its name and its value (`None` for a null value).
pub type HeaderRef<'m> = (&'m [u8], Option<&'m [u8]>);

/// The headers of a record, in order, as raw bytes; empty when it has none.
///
/// Pass `message.headers()` of a consumed message (or `headers.as_borrowed()` of
/// `OwnedHeaders`).
pub fn read(headers: Option<&BorrowedHeaders>) -> Vec<RawHeader> {
    borrow(headers).map(|(name, value)| (name.to_vec(), value.map(<[u8]>::to_vec))).collect()
}

/// The headers of a record, in order, borrowed from it: [`read`] without copying a byte (the
/// tracker audits every record's headers, and the copies were most of its allocations).
pub fn borrow(headers: Option<&BorrowedHeaders>) -> impl Iterator<Item = HeaderRef<'_>> {
    // `BorrowedHeaders` is rdkafka's opaque stand-in for librdkafka's `rd_kafka_headers_t`:
    // a reference to it is the native pointer (rdkafka converts it the same way).
    let native = headers.map(|headers| ptr::from_ref(headers).cast::<rd_kafka_headers_t>());
    // SAFETY: `native` points to live headers for as long as `headers` is borrowed, and
    // librdkafka only reads them here.
    let count = native.map_or(0, |native| unsafe { rd_kafka_header_cnt(native) });
    Borrowed { native, index: 0, count, headers: PhantomData }
}

/// The iterator of [`borrow`].
struct Borrowed<'m> {
    native: Option<*const rd_kafka_headers_t>,
    index: usize,
    count: usize,
    headers: PhantomData<&'m BorrowedHeaders>,
}

impl<'m> Iterator for Borrowed<'m> {
    type Item = HeaderRef<'m>;

    fn next(&mut self) -> Option<HeaderRef<'m>> {
        let native = self.native?;
        if self.index >= self.count {
            return None;
        }
        let (mut name, mut value, mut size) = (ptr::null::<c_char>(), ptr::null::<c_void>(), 0usize);
        // SAFETY: `native` is live for 'm (see `borrow`); the out-pointers are valid locals.
        let error = unsafe { rd_kafka_header_get_all(native, self.index, &mut name, &mut value, &mut size) };
        if error != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
            self.index = self.count;
            return None;
        }
        self.index += 1;
        // SAFETY: librdkafka returns the name NUL-terminated and the value as `size` bytes
        // (or NULL for a null value); both live as long as the headers, that is for 'm.
        unsafe {
            let name = CStr::from_ptr(name).to_bytes();
            let value = (!value.is_null()).then(|| std::slice::from_raw_parts(value.cast::<u8>(), size));
            Some((name, value))
        }
    }

    /// Exact unless librdkafka refuses an index below its own count, which it does not.
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count.saturating_sub(self.index);
        (left, Some(left))
    }
}

/// Headers to produce, made from raw (name, value) pairs in order, names kept byte for byte.
pub fn owned<'a>(headers: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> OwnedHeaders {
    let owned = OwnedHeaders::new();
    let native = ptr::from_ref(owned.as_borrowed()).cast::<rd_kafka_headers_t>().cast_mut();
    for (name, value) in headers {
        let (value_ptr, value_len) = match value {
            Some(value) => (value.as_ptr().cast::<c_void>(), value.len()),
            None => (ptr::null(), 0),
        };
        // SAFETY: `native` is the pointer of `owned`, which this function owns and nothing
        // else reads meanwhile; librdkafka copies the name and value (lengths given, so neither
        // needs a NUL terminator). It fails only for read-only headers (those of a message
        // already handed to librdkafka), which fresh headers are not, so the result is ignored.
        let _ = unsafe {
            rd_kafka_header_add(
                native,
                name.as_ptr().cast::<c_char>(),
                isize::try_from(name.len()).unwrap_or(isize::MAX),
                value_ptr,
                isize::try_from(value_len).unwrap_or(isize::MAX),
            )
        };
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_that_are_not_utf8_survive_a_round_trip() {
        let headers: Vec<RawHeader> = vec![
            (b"\xff\xfe".to_vec(), Some(b"x".to_vec())),
            (b"plain".to_vec(), Some(b"\x00\xc3\x28 binary".to_vec())),
            (b"null-value".to_vec(), None),
            (b"empty-value".to_vec(), Some(Vec::new())),
            (b"plain".to_vec(), Some(b"repeated name".to_vec())),
        ];
        let owned = owned(headers.iter().map(|(name, value)| (name.as_slice(), value.as_deref())));
        assert_eq!(read(Some(owned.as_borrowed())), headers);
        let borrowed: Vec<HeaderRef<'_>> = borrow(Some(owned.as_borrowed())).collect();
        let expected: Vec<HeaderRef<'_>> =
            headers.iter().map(|(name, value)| (name.as_slice(), value.as_deref())).collect();
        assert_eq!(borrowed, expected);
    }

    #[test]
    fn no_headers_read_as_none() {
        assert!(read(None).is_empty());
        assert_eq!(borrow(None).count(), 0);
        assert!(read(Some(OwnedHeaders::new().as_borrowed())).is_empty());
    }
}

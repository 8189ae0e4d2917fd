//! [`Position`]: where a dead letter is in the dead-letter topic (`0:12`), as every command
//! names it. Below both the dead letter ([`crate::letter`]) and the selection
//! ([`crate::select`]), so neither imports the other for it.

use std::fmt;
use std::str::FromStr;

/// Where a dead letter is in the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Partition of the dead-letter topic.
    pub partition: i32,
    /// Offset in that partition.
    pub offset: i64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.partition, self.offset)
    }
}

impl FromStr for Position {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let malformed = || format!("{text:?} is not a position: expected PARTITION:OFFSET, e.g. 0:12");
        let (partition, offset) = text.split_once(':').ok_or_else(malformed)?;
        let partition: i32 = partition.parse().map_err(|_| malformed())?;
        let offset: i64 = offset.parse().map_err(|_| malformed())?;
        if partition < 0 || offset < 0 {
            return Err(malformed());
        }
        Ok(Position { partition, offset })
    }
}

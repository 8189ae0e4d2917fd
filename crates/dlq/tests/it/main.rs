//! `dlq` against a real local broker, through its real binary (and the tracker's, where a
//! dead letter has to come from a tracker or go back to one).

mod export_output;
mod hostile;
mod inspect;
mod redrive;
mod sasl;
mod selection;
mod trust;
mod util;

//! The consumer loop's last step for a failed message: its dead letter. As `dlq redrive` does,
//! the work is split into steps that each return a typed result: [`Worker::send_letter`] builds
//! and sends one letter (whole, or cut to a budget) and says what became of it ([`Sent`]);
//! [`Worker::cut_smaller`] answers a size refusal (keep the whole record in a file, halve the
//! budget); [`Worker::report_refusal`] writes a refusal's `dlq_failed` entry and waits the
//! backoff's pause (or gives up, [`Retry`]); [`Worker::report_sent`] counts and logs the
//! acknowledged letter. [`Worker::dead_letter`] only sequences them.

use kafka::headers::RawHeader;
use models::health::{DlqCut, DlqFailed, DlqSent, ProcessingFailed};
use models::kept::KeptRecord;
use models::OrderEvent;
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::Message;
use retry::Failure;

use super::{
    position, DeadLetterError, Outcome, Worker, DLQ_QUEUE_TIMEOUT, DLQ_SEND_ATTEMPTS, DLQ_SEND_BACKOFF,
};
use crate::cut::{self, CutSummary};
use crate::dlq::{self, DeadLetterReceipt};
use kafka::auth::AuthContext;

/// A failed message on its way to the dead-letter topic: what every step reads.
struct Failed<'a, 'm> {
    /// The message as consumed.
    message: &'a BorrowedMessage<'m>,
    /// Why it failed.
    failure: &'a Failure,
    /// Processing attempts made.
    attempts: u32,
    /// The order event, when the payload was one.
    event: Option<&'a OrderEvent>,
    /// How many times it was redriven already (its `dlq.redrive.count`).
    redrive: u32,
    /// Its headers as received (for the kept file).
    received: Vec<RawHeader>,
    /// Its headers as the dead letter carries them ([`dlq::original_headers`]).
    original: Vec<RawHeader>,
}

/// What became of one send of a dead letter.
enum Sent {
    /// The broker stored it; `cut` says what was kept when it was a cut letter.
    Accepted { receipt: DeadLetterReceipt, cut: Option<CutSummary> },
    /// Refused as too large, and a smaller letter can still be tried.
    TooLarge {
        /// The size refusal.
        refusal: dlq::SendError,
        /// The refused letter's size ([`cut::letter_bytes`]).
        letter_bytes: u64,
        /// Its budget, when it was already cut.
        budget_bytes: Option<u64>,
    },
    /// Refused otherwise (or too large when nothing more can be cut): it counts as a send.
    Refused(dlq::SendError),
    /// Shutdown came first.
    Abandoned,
}

/// After a refusal's `dlq_failed` entry: try again, or stop with this outcome.
enum Retry {
    /// The backoff's pause passed: send again.
    Again,
    /// The last send was refused, or shutdown came during the pause.
    Stop(Outcome),
}

/// A dead letter being cut: the kept file and the budget of the next try.
#[derive(Debug, Clone)]
struct Cutting {
    /// The kept file's name, in the log folder.
    kept_file: String,
    /// The whole record's size ([`models::kept::record_bytes`]).
    original_bytes: u64,
    /// The whole record's SHA-256 ([`models::kept::record_sha256`]).
    original_sha256: String,
    /// The budget of the next cut letter; 0 keeps only the context.
    budget_bytes: u64,
    /// The last size refusal.
    reason: String,
}

impl Worker {
    /// Sends a failed message to the dead-letter topic, up to [`DLQ_SEND_ATTEMPTS`] times
    /// with the pauses of [`DLQ_SEND_BACKOFF`], until the broker acknowledges it; shutdown abandons it. Each
    /// refusal is a `dlq_failed` entry (written out at once) and a warning on stderr; after
    /// the last one the message is [`Outcome::Unhandled`]. A dead letter refused as too large
    /// is not sent again whole: the record is kept in a file and a cut dead letter is sent
    /// ([`crate::cut`]), with a `dlq_cut` entry. With the DLQ off, the failure is only logged,
    /// once (`processing_failed` with `dlq: "disabled"`, and the order id when it is known).
    pub(super) async fn dead_letter(
        &mut self,
        message: &BorrowedMessage<'_>,
        failure: Failure,
        attempts: u32,
        event: Option<&OrderEvent>,
        redrive: u32,
    ) -> Outcome {
        let Some(producer) = self.dlq.clone() else {
            self.log_failure_without_dead_letter(message, &failure, attempts, event);
            return Outcome::Finished;
        };
        let received = kafka::headers::read(message.headers());
        let original = dlq::original_headers(&received);
        let failed = Failed { message, failure: &failure, attempts, event, redrive, received, original };
        let mut refusals = 0;
        // Set once a size refusal made the tracker keep the record and cut its dead letter.
        let mut cutting: Option<Cutting> = None;
        loop {
            match self.send_letter(&producer, &failed, cutting.as_ref()).await {
                Sent::Accepted { receipt, cut } => {
                    self.report_sent(&failed, receipt, cutting.as_ref().zip(cut));
                    return Outcome::Finished;
                }
                Sent::TooLarge { refusal, letter_bytes, budget_bytes } => {
                    match self.cut_smaller(&failed, cutting.take(), &refusal, letter_bytes, budget_bytes) {
                        Ok(next) => cutting = Some(next),
                        Err(error) => return Outcome::Unhandled(error),
                    }
                }
                Sent::Refused(error) => {
                    refusals += 1;
                    if let Retry::Stop(outcome) = self.report_refusal(&failed, error, refusals).await {
                        return outcome;
                    }
                }
                Sent::Abandoned => return Outcome::Abandoned,
            }
        }
    }

    /// With the DLQ off: the failure is counted and logged once.
    fn log_failure_without_dead_letter(
        &mut self,
        message: &BorrowedMessage<'_>,
        failure: &Failure,
        attempts: u32,
        event: Option<&OrderEvent>,
    ) {
        self.counters.failed += 1;
        let entry = ProcessingFailed {
            message: position(message),
            order_id: event.map(|event| event.order.order_id),
            attempts,
            error_kind: failure.kind().to_owned(),
            dlq: Some("disabled".to_owned()),
        };
        self.shared().log(&entry, Some(failure.reason()));
    }

    /// Builds the letter (whole, or cut to the budget of `cutting`) and sends it once.
    async fn send_letter(
        &self,
        producer: &FutureProducer<AuthContext>,
        failed: &Failed<'_, '_>,
        cutting: Option<&Cutting>,
    ) -> Sent {
        let message = failed.message;
        let context = dlq::context_headers(message, failed.failure, failed.attempts, &self.instance_id);
        let whole = dlq::Letter {
            key: message.key(),
            payload: message.payload(),
            headers: &failed.original,
            context: &context,
        };
        let cut_letter = cutting.map(|cutting| {
            let parts = cut::Whole {
                key: message.key(),
                payload: message.payload(),
                headers: &failed.original,
                original_bytes: cutting.original_bytes,
                original_sha256: &cutting.original_sha256,
                kept_file: &cutting.kept_file,
            };
            cut::cut(&parts, &context, cutting.budget_bytes, &cutting.reason)
        });
        let letter = match &cut_letter {
            Some(cut) => dlq::Letter {
                key: cut.key,
                payload: cut.payload,
                headers: cut.headers,
                context: &cut.context,
            },
            None => whole,
        };
        let letter_bytes = cut::letter_bytes(&letter);
        let sent = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => return Sent::Abandoned,
            sent = dlq::send(producer, &self.config.dlq.topic, letter, DLQ_QUEUE_TIMEOUT) => sent,
        };
        let budget_bytes = cut_letter.as_ref().map(|cut| cut.summary.budget_bytes);
        match sent {
            Ok(receipt) => Sent::Accepted { receipt, cut: cut_letter.map(|cut| cut.summary) },
            Err(refusal @ dlq::SendError::TooLarge(_))
                if cutting.is_none_or(|cutting| cutting.budget_bytes > 0) =>
            {
                Sent::TooLarge { refusal, letter_bytes, budget_bytes }
            }
            Err(error) => Sent::Refused(error),
        }
    }

    /// After a size refusal: sending it again whole cannot help, so the whole record is kept in
    /// a file (before anything cut is sent, the first time) and the next letter gets a smaller
    /// budget; no pause, the refusal is not about time.
    fn cut_smaller(
        &self,
        failed: &Failed<'_, '_>,
        cutting: Option<Cutting>,
        refusal: &dlq::SendError,
        letter_bytes: u64,
        previous_budget: Option<u64>,
    ) -> Result<Cutting, Box<DeadLetterError>> {
        let message = failed.message;
        let reason = refusal.to_string();
        let next = match cutting {
            None => self.keep_whole(message, &failed.received, reason)?,
            Some(previous) => Cutting { reason, ..previous },
        };
        let max_bytes = crate::dlq_message_max_bytes(&self.config);
        let budget_bytes = cut::next_budget(previous_budget, max_bytes, letter_bytes);
        tracing::warn!(
            partition = message.partition(),
            offset = message.offset(),
            dlq_topic = self.config.dlq.topic.as_str(),
            letter_bytes,
            budget_bytes,
            kept_file = next.kept_file,
            "dead letter too large ({}); the whole record is kept in a file, sending a cut one",
            next.reason
        );
        Ok(Cutting { budget_bytes, ..next })
    }

    /// The `send_number`th refusal: its `dlq_failed` entry, written out at once; after the
    /// last send the message is [`Outcome::Unhandled`], else a warning and the backoff's pause.
    async fn report_refusal(
        &self,
        failed: &Failed<'_, '_>,
        error: dlq::SendError,
        send_number: u32,
    ) -> Retry {
        let message = failed.message;
        let dlq_topic = self.config.dlq.topic.clone();
        let last = send_number == DLQ_SEND_ATTEMPTS;
        let entry = DlqFailed {
            message: position(message),
            dlq_topic: dlq_topic.clone(),
            error_kind: failed.failure.kind().to_owned(),
            attempts: failed.attempts,
            send_attempt: send_number,
            send_attempts_max: DLQ_SEND_ATTEMPTS,
            fatal: last,
        };
        {
            let mut shared = self.shared();
            shared.log(&entry, Some(&error.to_string()));
            // Out now: the loop is not back at its flush tick while it retries.
            let _reported_by_the_next_hand_off = shared.files.log.hand_off();
        }
        if last {
            return Retry::Stop(Outcome::Unhandled(Box::new(DeadLetterError::NotAccepted {
                dlq_topic,
                message: position(message),
                source: error,
            })));
        }
        let pause = DLQ_SEND_BACKOFF.ceiling(send_number);
        tracing::warn!(
            partition = message.partition(),
            offset = message.offset(),
            dlq_topic,
            %error,
            "dead letter not accepted (attempt {send_number} of {DLQ_SEND_ATTEMPTS}); next \
             attempt in {} s",
            pause.as_secs()
        );
        if self.sleep(pause).await {
            Retry::Again
        } else {
            Retry::Stop(Outcome::Abandoned)
        }
    }

    /// The acknowledged dead letter: counted, noted in the open transaction, and logged
    /// (`dlq_cut` first when it was `cut`, then `dlq_sent`).
    fn report_sent(
        &mut self,
        failed: &Failed<'_, '_>,
        receipt: DeadLetterReceipt,
        cut: Option<(&Cutting, CutSummary)>,
    ) {
        let message = failed.message;
        let dlq_topic = &self.config.dlq.topic;
        self.counters.failed += 1;
        self.counters.dlq_sent += 1;
        let (cluster_id, transaction) = {
            let mut shared = self.shared();
            let transaction = shared.transactions.as_mut().and_then(|transactions| {
                transactions.dead_letter_sent();
                transactions.current().map(str::to_owned)
            });
            (shared.cluster_id().map(|id| id.to_string()), transaction)
        };
        if let Some((cutting, summary)) = cut {
            let entry = DlqCut {
                message: position(message),
                dlq_topic: dlq_topic.clone(),
                dlq_partition: receipt.partition,
                dlq_offset: receipt.offset,
                kept_file: cutting.kept_file.clone(),
                original_bytes: cutting.original_bytes,
                original_sha256: cutting.original_sha256.clone(),
                budget_bytes: summary.budget_bytes,
                payload_bytes_kept: summary.payload_bytes_kept,
                payload_bytes: message.payload_len() as u64,
                headers_kept: summary.headers_kept,
                headers: failed.original.len() as u64,
                key_kept: summary.key_kept,
            };
            self.shared().log(&entry, Some(&cutting.reason));
        }
        let entry = DlqSent {
            message: position(message),
            dlq_topic: dlq_topic.clone(),
            dlq_partition: receipt.partition,
            dlq_offset: receipt.offset,
            error_kind: failed.failure.kind().to_owned(),
            attempts: failed.attempts,
            kafka_key: message.key().map(|key| String::from_utf8_lossy(key).into_owned()),
            event_id: failed.event.map(|event| event.event_id),
            redrive_count: failed.redrive,
            cluster_id,
            transaction,
        };
        self.shared().log(&entry, Some(failed.failure.reason()));
    }

    /// Keeps the whole record in a file beside the audit files ([`cut::keep`]); when it cannot,
    /// the tracker stops (the record would otherwise exist nowhere whole once its offset is
    /// committed).
    fn keep_whole(
        &self,
        message: &BorrowedMessage<'_>,
        headers: &[RawHeader],
        reason: String,
    ) -> Result<Cutting, Box<DeadLetterError>> {
        let cluster_id = self.shared().cluster_id().map(|id| id.to_string());
        let raw: Vec<_> = headers.iter().map(|(name, value)| (name.as_slice(), value.as_deref())).collect();
        let kept = KeptRecord::new(
            message.topic(),
            message.partition(),
            message.offset(),
            cluster_id.as_deref(),
            message.key(),
            message.payload(),
            &raw,
        );
        let name = cut::kept_file_name(
            &self.instance_id,
            message.topic(),
            message.partition(),
            message.offset(),
            &kept.original_sha256,
        );
        if let Err(source) = cut::keep(&self.config.tracker.log_dir, &name, &kept.to_line()) {
            return Err(Box::new(DeadLetterError::NotKept {
                message: position(message),
                refusal: reason,
                path: self.config.tracker.log_dir.join(&name),
                source,
            }));
        }
        Ok(Cutting {
            kept_file: name,
            original_bytes: kept.original_bytes,
            original_sha256: kept.original_sha256,
            budget_bytes: 0,
            reason,
        })
    }
}

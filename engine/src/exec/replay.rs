//! Dead letters tried again, for `weft replay` and the API alike: a dead event goes back to the
//! queue (the next drain processes it), a webhook or file piece that could not be parsed is
//! parsed again now. A webhook its channel refused (a missing or wrong signature) is verified
//! again first, with the mount as the pipeline has it now (the secret fixed, say); only when
//! it passes is it parsed, as if it had just arrived.

use super::{Pipeline, ingest};
use crate::store::Store;
use crate::store::hooks::Accepted;
use crate::store::ingest::InboundRecord;
use crate::store::queue::DeadLetter;

/// What replaying one dead letter did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterReplayed {
    /// Its event is queued again; the next drain processes it.
    Requeued,
    /// Its raw input was parsed again into this many messages (queued).
    Parsed(usize),
    /// Its raw input failed to parse again: the same dead letter is open again, with this
    /// reason.
    FailedAgain(String),
}

/// Replays one open dead letter.
pub async fn replay_dead_letter(
    store: &Store,
    pipeline: &Pipeline,
    letter: &DeadLetter,
) -> anyhow::Result<LetterReplayed> {
    store.requeue_dead_letter(letter).await?;
    let (Some(inbound), None) = (letter.inbound, letter.event) else {
        return Ok(LetterReplayed::Requeued);
    };
    let record = store.inbound(inbound).await?;
    let mut unit = store.unit().await?;
    if record.state == "refused" {
        if let Err(reason) = verify_again(pipeline, &record).await {
            unit.rollback().await?;
            store.dead_letter_failed_again(letter.id, &reason).await?;
            return Ok(LetterReplayed::FailedAgain(reason));
        }
        if let Accepted::KeptAs(kept) = unit.accept_refused(record.id).await? {
            tracing::info!(
                inbound = record.id,
                kept,
                "refused webhook verified on replay; kept before as a retry"
            );
            unit.commit().await?;
            return Ok(LetterReplayed::Parsed(0));
        }
    }
    let outcome = ingest::parse_recorded(&mut unit, pipeline, record.id, &record.channel, record.inbound).await?;
    Ok(match outcome {
        Ok(n) => {
            unit.commit().await?;
            LetterReplayed::Parsed(n)
        }
        Err(reason) => {
            // The same dead letter, open again: not a second one per try.
            unit.rollback().await?;
            store.dead_letter_failed_again(letter.id, &reason).await?;
            LetterReplayed::FailedAgain(reason)
        }
    })
}

/// A refused webhook checked again by its mount's channel; the reason when it is refused again.
async fn verify_again(pipeline: &Pipeline, record: &InboundRecord) -> Result<(), String> {
    let call = pipeline
        .channel_call(&record.channel, record.inbound.hook.as_deref())
        .map_err(|e| format!("{}: cannot be verified again: {e:#}", record.inbound.source))?;
    call.plugin
        .verify(&record.inbound, &call.config, &call.options)
        .await
        .map_err(|failure| {
            format!(
                "{}: refused by channel {}: {failure}",
                record.inbound.source, record.channel
            )
        })
}

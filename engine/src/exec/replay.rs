//! Dead letters tried again, for `weft replay` and the API alike: a dead event goes back to the
//! queue (the next drain processes it), a webhook or file piece that could not be parsed is
//! parsed again now.

use super::{Pipeline, ingest};
use crate::store::Store;
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

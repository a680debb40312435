//! What a channel's webhook traffic says besides messages ([`weft_sdk::Notice`]): the status
//! of a message the channel delivered, and buyers opting out of the channel or back in.
//!
//! A status is matched to its outbox row by the mount the traffic came through and the
//! vendor's id of the message (what `deliver` returned); statuses arrive out of order, so a
//! later one never takes a row back (`store::outbox::status_moves_on`). A `failed` status turns
//! the row `failed` with the vendor's reason and logs that on the row's ticket (workflow
//! `outbox`, as the sender logs its outcomes), so agents see that the buyer did not get it. A
//! status of no row of the mount (a message sent from elsewhere) is logged and left.
//!
//! A consent is recorded per mount and address; the sender refuses rows to an opted-out
//! address without calling the channel (`exec::outbox`).

use crate::store::Unit;
use crate::store::apply::Origin;
use weft_sdk::{Decision, DeliveryState, Evidence, Notice};

/// Applies `notices` that came through `mount` (whose plugin is `plugin`, `name@version`)
/// inside `unit`.
pub async fn apply(unit: &mut Unit, mount: &str, plugin: &str, notices: &[Notice]) -> anyhow::Result<()> {
    for notice in notices {
        match notice {
            Notice::Consent(consent) => {
                unit.record_consent(mount, consent).await?;
                tracing::info!(mount, address = %consent.address, opted_out = consent.opted_out, reason = %consent.reason, "consent recorded");
            }
            Notice::DeliveryStatus(status) => {
                let Some((row, moved)) = unit.record_delivery_status(mount, status).await? else {
                    tracing::info!(mount, external_id = %status.external_id, state = status.state.as_str(), "status of a message not in the outbox");
                    continue;
                };
                tracing::debug!(mount, key = %row.key, state = status.state.as_str(), moved, "delivery status");
                if !moved || status.state != DeliveryState::Failed {
                    continue;
                }
                let reason = status.reason.as_deref().unwrap_or("no reason given");
                let decision = Decision::new(
                    row.send_command(),
                    format!(
                        "not delivered to {}: mount `{mount}` reported {} failed after it was sent: {reason}",
                        row.recipient,
                        row.external_id.as_deref().unwrap_or(&status.external_id)
                    ),
                )
                .with_evidence([
                    Evidence::new("delivery", "failed", 1.0),
                    Evidence::new("status", reason, 0.0),
                ]);
                let origin = Origin {
                    event: None,
                    workflow: "outbox",
                    workflow_version: None,
                    step: mount,
                    plugin,
                };
                unit.record_decision(origin, &decision, None, row.ticket).await?;
                tracing::warn!(mount, key = %row.key, %reason, "delivered message failed");
            }
        }
    }
    Ok(())
}

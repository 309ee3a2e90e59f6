//! Taking an award out of Edubadges (a revocation, or the old credential of
//! a reissue): an unclaimed direct award is deleted, a claimed badge is
//! revoked (contract fact 10). What Edubadges holds is looked up first, from
//! the ledger's ids, the bundle or the listings, so a repeated withdrawal
//! (after a lost answer or a crash) finds the work done and ends.

use super::answer::Failure;
use super::edubadges::{EdubadgesClient, ListedDirectAward};
use crate::storage::Delivery;

/// Why a withdrawal did not end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotWithdrawn {
    /// Try again later (Edubadges unreachable, throttling, an unknown outcome).
    Retry(Failure),
    /// Cannot be done without a person: the message says what to do.
    Failed(String),
}

/// What Edubadges holds for a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    DirectAward(String),
    Assertion {
        id: String,
        revoked: bool,
    },
    /// Nothing any more: declined, deleted or revoked already.
    Gone(String),
    /// Not found where zegel can look.
    NotFound,
}

/// Withdraws what Edubadges holds for `delivery`; the note says what was done.
pub async fn withdraw(
    client: &EdubadgesClient,
    delivery: Option<&Delivery>,
    reason: &str,
) -> Result<String, NotWithdrawn> {
    let Some(delivery) = delivery.filter(|d| matches!(d.state.as_str(), "sending" | "sent" | "claimed")) else {
        return Ok("Edubadges held nothing for this award: its push was cancelled".into());
    };
    match locate(client, delivery).await.map_err(NotWithdrawn::Retry)? {
        Held::Gone(why) => Ok(why),
        Held::Assertion { id, revoked: true } => Ok(format!("badge {id} was already revoked in Edubadges")),
        Held::Assertion { id, revoked: false } => {
            match client.revoke_assertions(reason, std::slice::from_ref(&id)).await {
                Ok(()) => Ok(format!("revoked badge {id} in Edubadges")),
                Err(Failure::Refused { reason }) if reason.contains("already revoked") => {
                    Ok(format!("badge {id} was already revoked in Edubadges"))
                }
                Err(Failure::Refused { reason }) => {
                    Err(NotWithdrawn::Failed(format!("Edubadges refused to revoke badge {id}: {reason}")))
                }
                Err(failure) => Err(NotWithdrawn::Retry(failure)),
            }
        }
        Held::DirectAward(id) => match client.delete_direct_awards(reason, std::slice::from_ref(&id)).await {
            Ok(rejected) if rejected.is_empty() => Ok(format!("deleted direct award {id} in Edubadges")),
            // "Already deleted" is a refusal too: look again to tell.
            Ok(_) | Err(Failure::Refused { .. }) => {
                match locate(client, delivery).await.map_err(NotWithdrawn::Retry)? {
                    Held::Gone(why) => Ok(why),
                    Held::Assertion { .. } => Err(NotWithdrawn::Retry(Failure::Retry {
                        reason: "the student claimed the award while it was being deleted".into(),
                        retry_after: None,
                    })),
                    _ => Err(NotWithdrawn::Failed(format!(
                        "Edubadges refused to delete direct award {id}; delete it in Edubadges by hand, then retry"
                    ))),
                }
            }
            Err(failure) => Err(NotWithdrawn::Retry(failure)),
        },
        Held::NotFound if delivery.state == "sending" => {
            Ok("not found in Edubadges: the create whose answer was lost had not landed".into())
        }
        Held::NotFound => Err(NotWithdrawn::Failed(
            "Edubadges' listings no longer show this award and zegel knows no badge id for it \
             (it was probably claimed); revoke it in Edubadges by hand"
                .into(),
        )),
    }
}

/// Looks the delivery up: in its bundle when its id is known (that shows
/// claims too), else by the ids the ledger holds and in the listings.
async fn locate(client: &EdubadgesClient, delivery: &Delivery) -> Result<Held, Failure> {
    let is_email = delivery.identifier_type == "email";
    let recipient = delivery.recipient.as_str();
    if let Some(bundle_id) = &delivery.bundle_id
        && let Some(bundle) = client.bundle(bundle_id).await?
    {
        let assertion = bundle.badge_assertions.iter().find(|a| {
            let key = if is_email { a.email.as_deref() } else { a.eppn() };
            key.is_some_and(|k| k.eq_ignore_ascii_case(recipient))
        });
        if let Some(a) = assertion {
            return Ok(Held::Assertion { id: a.entity_id.clone(), revoked: a.revoked });
        }
        let direct = bundle.direct_awards.iter().find(|d| {
            let key = if is_email { d.recipient_email.as_deref() } else { d.eppn.as_deref() };
            key.is_some_and(|k| k.eq_ignore_ascii_case(recipient))
        });
        return Ok(match direct {
            Some(d) if matches!(d.status.as_str(), "Unaccepted" | "Scheduled") => {
                Held::DirectAward(d.entity_id.clone())
            }
            Some(d) => Held::Gone(format!("direct award {} is {} in Edubadges already", d.entity_id, d.status)),
            None => match &delivery.assertion_id {
                Some(id) => Held::Assertion { id: id.clone(), revoked: false },
                None => Held::Gone(format!("no longer in Edubadges bundle {bundle_id}")),
            },
        });
    }
    if let Some(id) = &delivery.assertion_id {
        return Ok(Held::Assertion { id: id.clone(), revoked: false });
    }
    let matches = |listed: &ListedDirectAward| {
        let key = if is_email { listed.recipient_email.as_deref() } else { listed.eppn.as_deref() };
        listed.bc_entity_id == delivery.badgeclass && key.is_some_and(|k| k.eq_ignore_ascii_case(recipient))
    };
    if let Some(listed) = client.direct_awards("unclaimed").await?.into_iter().find(|l| matches(l)) {
        return Ok(Held::DirectAward(listed.entity_id));
    }
    if let Some(listed) = client.direct_awards("deleted").await?.into_iter().find(|l| matches(l)) {
        return Ok(Held::Gone(format!("direct award {} was deleted in Edubadges already", listed.entity_id)));
    }
    Ok(Held::NotFound)
}

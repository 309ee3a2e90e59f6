//! The outbox worker: claims due jobs, sends them with at most
//! `ZEGEL_PUSH_CONCURRENCY` requests in flight, and records each outcome
//! on the award. Runs inside `zegel serve` or alone as `zegel push run`;
//! any number of workers may share a PostgreSQL database.

use super::answer::{Created, Failure, Rejection, redact};
use super::edubadges::{CreateBundle, DirectAward, EdubadgesClient, ListedDirectAward};
use super::plan;
use super::withdraw::NotWithdrawn;
use crate::app::App;
use crate::config::{IdentifierType, PushSettings};
use crate::domain::award::AwardRecord;
use crate::storage::{ClaimedJob, Delivery, JobOutcome, JobResult, PushItem, SendingMark};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The worker. Cheap to clone: clones share the client and the request budget.
#[derive(Clone)]
pub struct Worker {
    app: Arc<App>,
    client: Arc<EdubadgesClient>,
    settings: PushSettings,
    /// One permit per request that may be in flight.
    permits: Arc<Semaphore>,
}

/// A direct award ready to send.
struct Ready {
    job: ClaimedJob,
    award: DirectAward,
    created_at: DateTime<Utc>,
    /// Identifiers to keep out of the audit trail.
    identifiers: Vec<String>,
}

impl Worker {
    /// A worker for `app`, or `None` when Edubadges is not configured.
    pub fn new(app: Arc<App>) -> anyhow::Result<Option<Self>> {
        let Some(edubadges) = app.settings.edubadges.clone() else { return Ok(None) };
        let client = Arc::new(EdubadgesClient::new(edubadges, app.metrics.clone())?);
        let settings = app.settings.push.clone();
        let permits = Arc::new(Semaphore::new(settings.concurrency));
        Ok(Some(Self { app, client, settings, permits }))
    }

    /// Runs until `stop` completes. Requests in flight then are abandoned:
    /// their deliveries are marked `sending`, so whoever takes the jobs up
    /// again looks in Edubadges first.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tracing::info!(
            edubadges = %self.client.settings().url,
            concurrency = self.settings.concurrency,
            bundle_size = self.settings.bundle_size,
            "pushing awards to Edubadges"
        );
        tokio::pin!(stop);
        loop {
            let idle = tokio::select! {
                () = &mut stop => return,
                idle = self.round() => idle,
            };
            if idle {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
    }

    /// Claims what can be sent now and starts sending it; true when there
    /// was nothing to do (or the database failed: wait before trying again).
    async fn round(&self) -> bool {
        // A claimed job waits for a free request slot, so claim only as much
        // as the free slots can take.
        let Ok(first) = self.permits.clone().acquire_owned().await else { return true };
        let free = 1 + self.permits.available_permits();
        let now = Utc::now();
        let lease_until = now + self.settings.lease;
        let limit = i64::try_from(free * self.settings.bundle_size).unwrap_or(i64::MAX);
        let jobs = match self.app.store.claim_jobs(now, lease_until, limit).await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::warn!(%error, "could not claim push jobs; trying again shortly");
                return true;
            }
        };
        if jobs.is_empty() {
            return true;
        }
        let mut first = Some(first);
        for task in self.plan(jobs).await {
            let permit = match first.take() {
                Some(permit) => permit,
                None => match self.permits.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => return true,
                },
            };
            let worker = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                worker.execute(task).await;
            });
        }
        false
    }

    /// Sorts claimed jobs into requests: creates (after looking up those in
    /// doubt) and claim checks. Jobs that cannot be sent are settled here.
    async fn plan(&self, jobs: Vec<ClaimedJob>) -> Vec<Task> {
        let ids: Vec<String> = jobs.iter().map(|j| j.award_id.clone()).collect();
        let items: HashMap<String, PushItem> = match self.app.store.push_items(&ids).await {
            Ok(items) => items.into_iter().map(|i| (i.award_id.clone(), i)).collect(),
            Err(error) => {
                // The leases run out and the jobs are taken up again.
                tracing::warn!(%error, "could not read the awards to push");
                return Vec::new();
            }
        };
        let mut settled = Vec::new();
        let mut in_doubt = Vec::new();
        let mut to_send = Vec::new();
        let mut checks: HashMap<Option<String>, Vec<(ClaimedJob, Delivery)>> = HashMap::new();
        let mut withdrawals = Vec::new();
        for job in jobs {
            let Some(item) = items.get(&job.award_id) else { continue };
            match (job.kind.as_str(), &item.delivery) {
                ("edubadges_withdraw", _) => withdrawals.push((job, item.clone())),
                // A safety net: revoking cancels the push or queues a withdrawal.
                ("edubadges_award", _) if item.revoked => {
                    let note = "cancelled: the credential was revoked before it was sent".to_owned();
                    settled.push(JobOutcome { job, result: JobResult::Cancelled { note } });
                }
                ("edubadges_award", Some(d)) if d.state == "sending" => in_doubt.push((job, item.clone())),
                ("edubadges_award", Some(d)) if d.state != "unsent" => {
                    let error = format!("the ledger already holds this award as {}", d.state);
                    settled.push(JobOutcome { job, result: JobResult::Failed { error } });
                }
                ("edubadges_award", _) => to_send.push((job, item.clone())),
                ("edubadges_claim", Some(d)) if d.state == "sent" => {
                    checks.entry(d.bundle_id.clone()).or_default().push((job, d.clone()));
                }
                // The delivery moved on (withdrawn, claimed): nothing left to check.
                ("edubadges_claim", d) => {
                    let state = d.as_ref().map_or("unsent", |d| d.state.as_str());
                    let note = format!("not needed: the delivery is {state}");
                    settled.push(JobOutcome { job, result: JobResult::Cancelled { note } });
                }
                (kind, _) => {
                    let error = format!("nothing to do for a {kind} job in this state");
                    settled.push(JobOutcome { job, result: JobResult::Failed { error } });
                }
            }
        }
        if !in_doubt.is_empty() {
            let (found, not_found) = self.reconcile(in_doubt, &mut settled).await;
            settled.extend(found);
            to_send.extend(not_found);
        }
        let mut ready = Vec::new();
        for (job, item) in to_send {
            match self.prepare(&item) {
                Ok((badgeclass, recipient, award, identifiers)) => {
                    ready.push((badgeclass, recipient, Ready { job, award, created_at: item.created_at, identifiers }))
                }
                Err(error) => settled.push(JobOutcome { job, result: JobResult::Failed { error } }),
            }
        }
        self.settle(settled).await;
        let mut tasks: Vec<Task> = plan::bundles(ready, self.settings.bundle_size)
            .into_iter()
            .map(|(badgeclass, members)| Task::Create { badgeclass, members })
            .collect();
        tasks.extend(checks.into_iter().map(|(bundle_id, members)| Task::Check { bundle_id, members }));
        tasks.extend(withdrawals.into_iter().map(|(job, item)| Task::Withdraw { job, item: Box::new(item) }));
        tasks
    }

    /// The badge class, recipient, direct award and learner identifiers of an award.
    fn prepare(&self, item: &PushItem) -> Result<(String, String, DirectAward, Vec<String>), String> {
        let Some(badgeclass) = item.badgeclass.clone() else {
            return Err("the achievement has no Edubadges badge class: set its edubadges_badgeclass, then retry".into());
        };
        let record: AwardRecord =
            serde_json::from_str(&item.record).map_err(|e| format!("the stored award record cannot be read: {e}"))?;
        let url = crate::issuance::credential_url(&self.app, &item.credential_id);
        let (award, recipient) = plan::direct_award(&record, url, self.identifier_type())?;
        let identifiers = [award.eppn.clone(), Some(award.recipient_email.clone())].into_iter().flatten().collect();
        Ok((badgeclass, recipient, award, identifiers))
    }

    fn identifier_type(&self) -> IdentifierType {
        self.client.settings().identifier_type
    }

    /// Looks for the direct awards of unanswered creates in Edubadges'
    /// unclaimed listing (under the round's permit): found ones are delivered; the others were not
    /// created (or were claimed already, which no listing shows; see
    /// docs/edubadges.md) and are sent again.
    async fn reconcile(
        &self,
        in_doubt: Vec<(ClaimedJob, PushItem)>,
        settled: &mut Vec<JobOutcome>,
    ) -> (Vec<JobOutcome>, Vec<(ClaimedJob, PushItem)>) {
        let listed = match self.client.direct_awards("unclaimed").await {
            Ok(listed) => listed,
            Err(failure) => {
                let now = Utc::now();
                for (job, _) in in_doubt {
                    let retry_at = now + self.wait(&job, &failure);
                    let error = format!(
                        "an earlier request's outcome is unknown and Edubadges could not be asked: {}",
                        failure.reason()
                    );
                    settled.push(JobOutcome { job, result: JobResult::InDoubt { retry_at, error } });
                }
                return (Vec::new(), Vec::new());
            }
        };
        let mut classes: Vec<String> =
            in_doubt.iter().filter_map(|(_, i)| i.delivery.as_ref().map(|d| d.badgeclass.clone())).collect();
        classes.sort();
        classes.dedup();
        let known: HashMap<String, String> = match self.app.store.known_direct_awards(&classes).await {
            Ok(known) => known.into_iter().collect(),
            Err(error) => {
                tracing::warn!(%error, "could not read the ledger; reconciling later");
                return (Vec::new(), Vec::new());
            }
        };
        let check_at = Utc::now() + self.settings.claim_check;
        let mut found = Vec::new();
        let mut not_found = Vec::new();
        for (job, item) in in_doubt {
            let Some(delivery) = &item.delivery else { continue };
            let matching = listed.iter().find(|listed| {
                listed.bc_entity_id == delivery.badgeclass
                    && listed_recipient(listed, &delivery.identifier_type)
                        .is_some_and(|r| r.eq_ignore_ascii_case(&delivery.recipient))
                    && known.get(&listed.entity_id).is_none_or(|owner| *owner == item.award_id)
            });
            match matching {
                Some(listed) => {
                    self.app.metrics.record_push("reconciled", 1);
                    found.push(JobOutcome {
                        job,
                        result: JobResult::Sent {
                            bundle_id: None,
                            direct_award_id: Some(listed.entity_id.clone()),
                            note: Some("found in Edubadges after a request whose answer was lost".into()),
                            check_at,
                        },
                    });
                }
                None => not_found.push((job, item)),
            }
        }
        (found, not_found)
    }

    async fn execute(&self, task: Task) {
        let outcomes = match task {
            Task::Create { badgeclass, members } => self.create(badgeclass, members).await,
            Task::Check { bundle_id, members } => self.check(bundle_id, members).await,
            Task::Withdraw { job, item } => vec![self.withdraw(job, *item).await],
        };
        self.settle(outcomes).await;
    }

    /// One `POST /directaward/create` for a bundle.
    async fn create(&self, badgeclass: String, members: Vec<(String, Ready)>) -> Vec<JobOutcome> {
        let identifier_type = self.identifier_type().as_str();
        let marks: Vec<(ClaimedJob, SendingMark)> = members
            .iter()
            .map(|(recipient, ready)| {
                let mark = SendingMark {
                    award_id: ready.job.award_id.clone(),
                    badgeclass: badgeclass.clone(),
                    identifier_type: identifier_type.to_owned(),
                    recipient: recipient.clone(),
                };
                (ready.job.clone(), mark)
            })
            .collect();
        // Committed before the request: from here on a lost answer is known.
        let marked = match self.app.store.mark_sending(&marks, Utc::now()).await {
            Ok(marked) => marked,
            Err(error) => {
                tracing::warn!(%error, "could not mark deliveries as being sent; they wait for their leases");
                return Vec::new();
            }
        };
        let members: Vec<(String, Ready)> =
            members.into_iter().filter(|(_, r)| marked.contains(&r.job.award_id)).collect();
        if members.is_empty() {
            return Vec::new();
        }
        let request = CreateBundle {
            badgeclass: badgeclass.clone(),
            notify_recipients: self.client.settings().notify_recipients,
            batch_mode: false,
            identifier_type,
            sis_user_id: "zegel".to_owned(),
            direct_awards: members.iter().map(|(_, r)| r.award.clone()).collect(),
        };
        let created: HashMap<i64, DateTime<Utc>> = members.iter().map(|(_, r)| (r.job.job_id, r.created_at)).collect();
        let answer = self.client.create(&request).await;
        let now = Utc::now();
        let check_at = now + self.settings.claim_check;
        let outcomes: Vec<JobOutcome> = match answer {
            Ok(Created::Bundle { bundle_id, rejected }) => members
                .into_iter()
                .map(|(recipient, ready)| {
                    let result = per_recipient(&recipient, &ready, &rejected, Some(&bundle_id), check_at, None);
                    JobOutcome { job: ready.job, result }
                })
                .collect(),
            Ok(Created::AllRejected(rejected)) => members
                .into_iter()
                .map(|(recipient, ready)| {
                    let unmatched = JobResult::InDoubt {
                        retry_at: now + self.settings.retry_base,
                        error: "Edubadges rejected the bundle without naming this recipient".into(),
                    };
                    let result = per_recipient(&recipient, &ready, &rejected, None, check_at, Some(unmatched));
                    JobOutcome { job: ready.job, result }
                })
                .collect(),
            Ok(Created::InvalidItems(invalid)) => members
                .into_iter()
                .enumerate()
                .map(|(i, (_, ready))| {
                    let result = match invalid.iter().find(|(at, _)| *at == i) {
                        Some((_, message)) => JobResult::Failed {
                            error: format!("Edubadges refused the direct award: {}", redact(message, &ready.ids())),
                        },
                        // Refused only because another one in its bundle was.
                        None => JobResult::NotSent {
                            retry_at: now,
                            error: "sent again without an invalid neighbour".into(),
                        },
                    };
                    JobOutcome { job: ready.job, result }
                })
                .collect(),
            Err(failure) => members
                .into_iter()
                .map(|(_, ready)| {
                    let result = match &failure {
                        Failure::Retry { reason, .. } => JobResult::NotSent {
                            retry_at: now + self.wait(&ready.job, &failure),
                            error: reason.clone(),
                        },
                        Failure::Unknown { reason } => JobResult::InDoubt {
                            retry_at: now + self.wait(&ready.job, &failure),
                            error: format!(
                                "{reason} (whether Edubadges created it will be checked before sending again)"
                            ),
                        },
                        Failure::Refused { reason } => JobResult::Failed { error: redact(reason, &ready.ids()) },
                    };
                    JobOutcome { job: ready.job, result }
                })
                .collect(),
        };
        self.count(&outcomes);
        for outcome in &outcomes {
            if let JobResult::Sent { .. } = outcome.result
                && let Some(created_at) = created.get(&outcome.job.job_id)
            {
                self.app.metrics.push_delivery_duration.observe((now - *created_at).to_std().unwrap_or_default());
            }
        }
        tracing::info!(
            badgeclass = %badgeclass,
            awards = outcomes.len(),
            sent = outcomes.iter().filter(|o| matches!(o.result, JobResult::Sent { .. })).count(),
            "Edubadges bundle sent"
        );
        outcomes
    }

    /// Whether the direct awards of a bundle (or, without one, of the
    /// unclaimed listing) were claimed.
    async fn check(&self, bundle_id: Option<String>, members: Vec<(ClaimedJob, Delivery)>) -> Vec<JobOutcome> {
        let now = Utc::now();
        let next = now + self.settings.claim_check;
        let failed = |members: Vec<(ClaimedJob, Delivery)>, failure: Failure| -> Vec<JobOutcome> {
            members
                .into_iter()
                .map(|(job, _)| {
                    let check_at = now
                        + self
                            .wait(&job, &failure)
                            .max(chrono::Duration::from_std(self.settings.retry_base).unwrap_or_default());
                    let error = Some(format!("could not check for a claim: {}", failure.reason()));
                    JobOutcome { job, result: JobResult::Unclaimed { direct_award_id: None, check_at, error } }
                })
                .collect()
        };
        let outcomes = match bundle_id {
            Some(bundle_id) => match self.client.bundle(&bundle_id).await {
                Err(failure) => failed(members, failure),
                Ok(None) => members
                    .into_iter()
                    .map(|(job, _)| {
                        let error = Some(format!("Edubadges does not know bundle {bundle_id}"));
                        JobOutcome {
                            job,
                            result: JobResult::Unclaimed { direct_award_id: None, check_at: next, error },
                        }
                    })
                    .collect(),
                Ok(Some(bundle)) => members
                    .into_iter()
                    .map(|(job, delivery)| {
                        let r = delivery.recipient.as_str();
                        let is_email = delivery.identifier_type == "email";
                        let assertion = bundle.badge_assertions.iter().find(|a| {
                            let key = if is_email { a.email.as_deref() } else { a.eppn() };
                            key.is_some_and(|k| k.eq_ignore_ascii_case(r))
                        });
                        let direct = bundle.direct_awards.iter().find(|d| {
                            let key = if is_email { d.recipient_email.as_deref() } else { d.eppn.as_deref() };
                            key.is_some_and(|k| k.eq_ignore_ascii_case(r))
                        });
                        let result = match (assertion, direct) {
                            (Some(a), _) if a.revoked => {
                                JobResult::Withdrawn { reason: "the badge was revoked in Edubadges".into() }
                            }
                            (Some(a), _) => {
                                JobResult::Claimed { direct_award_id: None, assertion_id: Some(a.entity_id.clone()) }
                            }
                            (None, Some(d)) => match d.status.as_str() {
                                "Rejected" => JobResult::Withdrawn {
                                    reason: "the student declined the award in Edubadges".into(),
                                },
                                "Deleted" | "Revoked" => {
                                    JobResult::Withdrawn { reason: "the direct award was deleted in Edubadges".into() }
                                }
                                _ => JobResult::Unclaimed {
                                    direct_award_id: Some(d.entity_id.clone()),
                                    check_at: next,
                                    error: None,
                                },
                            },
                            (None, None) => {
                                JobResult::Withdrawn { reason: format!("no longer in Edubadges bundle {bundle_id}") }
                            }
                        };
                        JobOutcome { job, result }
                    })
                    .collect(),
            },
            None => self.check_listed(members, next).await,
        };
        self.count(&outcomes);
        outcomes
    }

    /// Claim checks for deliveries known only from the listings (found by
    /// reconciling, or reported as duplicates): still unclaimed, deleted,
    /// or gone from both lists, which only a claim (or a refusal) does.
    async fn check_listed(&self, members: Vec<(ClaimedJob, Delivery)>, next: DateTime<Utc>) -> Vec<JobOutcome> {
        let lists = async {
            let unclaimed = self.client.direct_awards("unclaimed").await?;
            let deleted = self.client.direct_awards("deleted").await?;
            Ok::<_, Failure>((unclaimed, deleted))
        };
        let (unclaimed, deleted) = match lists.await {
            Ok(lists) => lists,
            Err(failure) => {
                return members
                    .into_iter()
                    .map(|(job, _)| {
                        let error = Some(format!("could not check for a claim: {}", failure.reason()));
                        JobOutcome {
                            job,
                            result: JobResult::Unclaimed { direct_award_id: None, check_at: next, error },
                        }
                    })
                    .collect();
            }
        };
        let find = |list: &[ListedDirectAward], d: &Delivery| {
            list.iter()
                .find(|l| {
                    l.bc_entity_id == d.badgeclass
                        && listed_recipient(l, &d.identifier_type).is_some_and(|r| r.eq_ignore_ascii_case(&d.recipient))
                })
                .map(|l| l.entity_id.clone())
        };
        members
            .into_iter()
            .map(|(job, delivery)| {
                let result = if let Some(id) = find(&unclaimed, &delivery) {
                    JobResult::Unclaimed { direct_award_id: Some(id), check_at: next, error: None }
                } else if find(&deleted, &delivery).is_some() {
                    JobResult::Withdrawn { reason: "the direct award was deleted in Edubadges".into() }
                } else {
                    JobResult::Claimed { direct_award_id: None, assertion_id: None }
                };
                JobOutcome { job, result }
            })
            .collect()
    }

    /// Takes an award out of Edubadges (see `withdraw.rs`).
    async fn withdraw(&self, job: ClaimedJob, item: PushItem) -> JobOutcome {
        let reason = job
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p.get("reason").and_then(serde_json::Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "withdrawn by the issuing institution".to_owned());
        let result = match super::withdraw::withdraw(&self.client, item.delivery.as_ref(), &reason).await {
            Ok(note) => JobResult::Retracted { note },
            Err(NotWithdrawn::Retry(failure)) => JobResult::NotSent {
                retry_at: Utc::now() + self.wait(&job, &failure),
                error: format!("could not withdraw the award yet: {}", failure.reason()),
            },
            Err(NotWithdrawn::Failed(error)) => JobResult::Failed { error },
        };
        let outcome = JobOutcome { job, result };
        self.count(std::slice::from_ref(&outcome));
        tracing::info!(award.id = %outcome.job.award_id, outcome = outcome_name(&outcome.result), "Edubadges withdrawal");
        outcome
    }

    /// How long a job waits after `failure` on its attempt.
    fn wait(&self, job: &ClaimedJob, failure: &Failure) -> chrono::Duration {
        let backoff = super::answer::backoff(
            u32::try_from(job.attempts).unwrap_or(u32::MAX),
            self.settings.retry_base,
            self.settings.retry_max,
            unit_random(),
        );
        let wait = match failure {
            // Edubadges said when: not earlier (plus a little jitter).
            Failure::Retry { retry_after: Some(after), .. } => *after + backoff.min(Duration::from_secs(1)),
            // Look soon: the sooner zegel looks, the less likely the student
            // has claimed it meanwhile (which would hide it from the listing).
            Failure::Unknown { .. } => backoff.min(Duration::from_secs(30)),
            _ => backoff,
        };
        chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
    }

    fn count(&self, outcomes: &[JobOutcome]) {
        for outcome in outcomes {
            self.app.metrics.record_push(outcome_name(&outcome.result), 1);
        }
    }

    /// Records outcomes; on a database error the jobs' leases run out and
    /// they are taken up again (deliveries marked `sending` are reconciled).
    async fn settle(&self, outcomes: Vec<JobOutcome>) {
        if outcomes.is_empty() {
            return;
        }
        for outcome in &outcomes {
            if let JobResult::Failed { error } = &outcome.result {
                tracing::warn!(award.id = %outcome.job.award_id, job.id = outcome.job.job_id, "push failed for good: {}", first_line(error));
            }
        }
        if let Err(error) = self.app.store.finish_jobs(&outcomes, Utc::now()).await {
            tracing::error!(%error, jobs = outcomes.len(), "could not record push outcomes; the jobs will run again");
        }
    }
}

impl Ready {
    fn ids(&self) -> Vec<&str> {
        self.identifiers.iter().map(String::as_str).collect()
    }
}

enum Task {
    Create { badgeclass: String, members: Vec<(String, Ready)> },
    Check { bundle_id: Option<String>, members: Vec<(ClaimedJob, Delivery)> },
    Withdraw { job: ClaimedJob, item: Box<PushItem> },
}

/// The metric label of an outcome.
fn outcome_name(result: &JobResult) -> &'static str {
    match result {
        JobResult::Sent { note: Some(_), .. } => "sent_duplicate",
        JobResult::Sent { .. } => "sent",
        JobResult::NotSent { .. } => "retry",
        JobResult::InDoubt { .. } => "in_doubt",
        JobResult::Failed { .. } => "failed",
        JobResult::Claimed { .. } => "claimed",
        JobResult::Unclaimed { .. } => "unclaimed",
        JobResult::Withdrawn { .. } => "withdrawn",
        JobResult::Retracted { .. } => "retracted",
        JobResult::Cancelled { .. } => "cancelled",
    }
}

/// What one recipient of a bundle got.
fn per_recipient(
    recipient: &str,
    ready: &Ready,
    rejected: &[Rejection],
    bundle_id: Option<&str>,
    check_at: DateTime<Utc>,
    unmatched: Option<JobResult>,
) -> JobResult {
    match rejected.iter().find(|r| r.concerns(recipient)) {
        Some(r) if r.is_duplicate() => JobResult::Sent {
            bundle_id: None,
            direct_award_id: None,
            note: Some("Edubadges already held an unclaimed direct award for this student and badge class".into()),
            check_at,
        },
        Some(r) => JobResult::Failed {
            error: format!("Edubadges rejected the direct award: {}", redact(&r.error, &ready.ids())),
        },
        None => unmatched.unwrap_or_else(|| JobResult::Sent {
            bundle_id: bundle_id.map(str::to_owned),
            direct_award_id: None,
            note: None,
            check_at,
        }),
    }
}

fn listed_recipient<'a>(listed: &'a ListedDirectAward, identifier_type: &str) -> Option<&'a str> {
    if identifier_type == "email" { listed.recipient_email.as_deref() } else { listed.eppn.as_deref() }
}

fn unit_random() -> f64 {
    use rand_core::{OsRng, RngCore};
    f64::from(OsRng.next_u32()) / (f64::from(u32::MAX) + 1.0)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

//! Management calls of an authenticated admin: enable, require, un-require, reset, unlock,
//! create admins.

use std::future::{Future, poll_fn};
use std::hash::BuildHasher;
use std::pin::pin;
use std::task::Poll;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use admin_mfa_lifecycle::{
    Admin, AdminId, BuiltinRole, Command, DecideContext, Email, EmailError, Event, MfaState, Role,
    UnixTime, execute,
};
use admin_mfa_policy::{Action, Context as PolicyContext, Target};
use admin_mfa_ports::{Change, ConflictKind, StoreError};

use super::types::{BulkItem, BulkReport, ChangeOutcome, CreatedAdmin, NewAdmin};
use super::{Applied, MfaService, Plan, record};
use crate::error::{Error, Result};
use crate::password::PasswordError;
use crate::session::Authenticated;

/// The longest display name accepted, in bytes.
const MAX_DISPLAY_NAME_LEN: usize = 256;

fn outcome(applied: &Applied) -> ChangeOutcome {
    ChangeOutcome {
        changed: applied.written && applied.events.iter().any(Event::changes_state),
        emails_queued: applied.queued,
        email_rate_limited_until: applied.events.iter().find_map(|e| match e {
            Event::LinkRateLimited { retry_at, .. } => Some(*retry_at),
            _ => None,
        }),
    }
}

/// The distinct admins of `targets` in the order first asked, and for each target whether
/// it is that admin's first mention.
///
/// The table holds positions in `targets` (8 bytes each) and hashes the id through them, so
/// for 100 000 targets it stays about a megabyte and in the CPU's cache; a map from id to
/// position was three times that, and looking every target up again to hand out the
/// results missed the cache once more per target.
fn first_mentions(targets: &[AdminId]) -> (Vec<AdminId>, Vec<bool>) {
    // A random seed per call: the ids come from the caller, who must not be able to pick
    // ids that collide.
    let hasher = RandomState::default();
    let hash = |id: &AdminId| hasher.hash_one(id);
    let mut seen: HashTable<usize> = HashTable::with_capacity(targets.len());
    let mut unique = Vec::with_capacity(targets.len());
    let mut first = Vec::with_capacity(targets.len());
    for (at, id) in targets.iter().enumerate() {
        let of = |p: &usize| targets.get(*p);
        let new = match seen.entry(hash(id), |p| of(p) == Some(id), |p| of(p).map_or(0, hash)) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(at);
                unique.push(*id);
                true
            }
        };
        first.push(new);
    }
    (unique, first)
}

/// A chunk of a bulk require whose change is decided and not yet written: its ids, their
/// result slots, which of them the change writes, and the change.
struct DecidedChunk<'a> {
    ids: &'a [AdminId],
    results: &'a mut [Option<BulkItem>],
    pending: Vec<bool>,
    change: Change,
}

/// Runs two futures side by side on the current task and returns both outputs.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_out = None;
    let mut b_out = None;
    poll_fn(|cx| {
        if a_out.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            a_out = Some(out);
        }
        if b_out.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            b_out = Some(out);
        }
        if a_out.is_some()
            && b_out.is_some()
            && let (Some(a), Some(b)) = (a_out.take(), b_out.take())
        {
            return Poll::Ready((a, b));
        }
        Poll::Pending
    })
    .await
}

impl MfaService {
    /// Runs one lifecycle command on `target` on behalf of `actor`, after the policy
    /// allowed `action` on the target as it is when the command is decided.
    async fn manage<P>(
        &self,
        actor: &Authenticated,
        target: AdminId,
        action: Action,
        mut plan: P,
    ) -> Result<ChangeOutcome>
    where
        P: FnMut(&mut Admin, UnixTime) -> Result<Plan>,
    {
        let subject = self.actor(actor, true).await?;
        let context = self.policy_context(false);
        let applied = self
            .mutate(subject.org, target, Some(subject.id), |admin, now| {
                self.authorize_on(&subject, &action, admin, &context)?;
                plan(admin, now)
            })
            .await?;
        Ok(outcome(&applied))
    }

    /// "Enable MultiFactor Authentication for Admin Login": makes MFA required for `target`
    /// and, unless a factor is active, an enrolment is in flight or a setup link that still
    /// works is pending (LNK-1), queues the setup e-mail (policy action `enable-mfa`; an Administrator may not do it for an Administrator With
    /// Billing, G1). Idempotent.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] with the policy's reason; [`Error::NotFound`] for an unknown
    /// admin or one of another organization; [`Error::SessionExpired`] or
    /// [`Error::ReauthRequired`] for the actor's session; infrastructure errors.
    pub async fn enable_mfa(
        &self,
        actor: &Authenticated,
        target: AdminId,
    ) -> Result<ChangeOutcome> {
        let by = actor.admin;
        self.manage(actor, target, Action::EnableMfa, |_, _| {
            Ok(vec![Command::Enable {
                by: Some(by),
                fresh: self.fresh()?,
            }])
        })
        .await
    }

    /// Stops requiring MFA for `target` (policy action `disable-mfa-requirement`, refused
    /// under an org-wide requirement, G5, and on oneself, G8). An active factor stays and is
    /// still asked for at login (T-REQ-5). The target is e-mailed that MFA is no longer
    /// required, and the change is audited (NOT-2).
    ///
    /// # Errors
    ///
    /// As [`MfaService::enable_mfa`].
    pub async fn remove_mfa_requirement(
        &self,
        actor: &Authenticated,
        target: AdminId,
    ) -> Result<ChangeOutcome> {
        let by = actor.admin;
        let global_required = self.config.global_mfa_required();
        self.manage(actor, target, Action::DisableMfaRequirement, |_, _| {
            Ok(vec![Command::RemoveRequirement {
                by,
                global_required,
            }])
        })
        .await
    }

    /// "Reset MFA" by an authorized admin (policy action `reset-mfa`, refused on oneself,
    /// G8): removes the target's factor at once, revokes its links and sessions, clears any
    /// lock, makes MFA required (so the target sets MFA up again before signing in, RST-8:
    /// a reset never leaves the password alone) and queues a setup e-mail (D3).
    ///
    /// # Errors
    ///
    /// As [`MfaService::enable_mfa`].
    pub async fn reset_mfa(&self, actor: &Authenticated, target: AdminId) -> Result<ChangeOutcome> {
        let by = actor.admin;
        self.manage(actor, target, Action::ResetMfa, |_, _| {
            Ok(vec![Command::AdminReset {
                by,
                fresh: self.fresh()?,
            }])
        })
        .await
    }

    /// Clears a lockout and the failure counter (gated by the policy's `reset-mfa`, so never
    /// on oneself, G8).
    ///
    /// # Errors
    ///
    /// [`Error::NotApplicable`] if the target is neither locked nor counting failures;
    /// otherwise as [`MfaService::enable_mfa`].
    pub async fn unlock_mfa(
        &self,
        actor: &Authenticated,
        target: AdminId,
    ) -> Result<ChangeOutcome> {
        let by = actor.admin;
        self.manage(actor, target, Action::ResetMfa, |_, _| {
            Ok(vec![Command::Unlock { by }])
        })
        .await
    }

    /// Bulk "Require MFA" from the "Admins Without MFA Required" list (policy action
    /// `require-mfa-bulk` on each target). One result per admin, in order; a failing admin
    /// never stops the others (D6); repeating the call changes nothing and sends nothing
    /// (REQ-1). Factors and in-flight enrolments are left alone.
    ///
    /// Admins are written in chunks of [`MfaConfig::bulk_chunk_size`](crate::MfaConfig::bulk_chunk_size),
    /// one store write per chunk; a chunk that fails is redone admin by admin. The next
    /// chunk is read and decided while the previous one is written (the chunks hold
    /// different admins), so a store's read and its commit overlap.
    ///
    /// MFA is required at once, as JumpCloud's guide has it; [`MfaService::require_mfa_by`]
    /// gives the admins a grace period instead.
    ///
    /// # Errors
    ///
    /// Only for the actor's session ([`Error::SessionExpired`], [`Error::ReauthRequired`])
    /// or a store failure before any admin was looked at; everything per admin is in the
    /// report.
    pub async fn require_mfa(
        &self,
        actor: &Authenticated,
        targets: &[AdminId],
    ) -> Result<BulkReport> {
        self.require_mfa_until(actor, targets, None).await
    }

    /// [`MfaService::require_mfa`] with a set-up deadline: until `deadline` an admin without
    /// a factor signs in with the password alone, and the login answer says when set-up is
    /// due ([`Authenticated::setup_due_by`](crate::Authenticated::setup_due_by); the setup
    /// e-mail goes out at that login); from `deadline` on, the login answers
    /// [`LoginOutcome::SetupRequired`](crate::LoginOutcome::SetupRequired) as without one
    /// (DL-1, DL-2). The "MFA required" e-mail names the deadline, and reminders are queued
    /// in the same store write for three days and one day before it, delivered by
    /// [`MfaService::dispatch_emails`] when due and dropped if the admin has set MFA up or
    /// the deadline changed by then (DL-3).
    ///
    /// A deadline only ever moves earlier (DL-4): for an admin already required, a later
    /// deadline (or any deadline on an admin required at once) changes nothing and reports
    /// [`BulkItem::AlreadyRequired`]; an earlier one replaces the pending one
    /// ([`BulkItem::Required`], with a notice and new reminders). A `deadline` not after
    /// now means "at once". Admins with a factor get no deadline (their code is asked for
    /// anyway), and admins created later are required at once by default. Nobody shortens or
    /// lifts their own grace period except by setting MFA up, and no call extends one.
    /// The widget counts an admin in a grace period as required.
    ///
    /// ```no_run
    /// # async fn f(service: &admin_mfa::MfaService, boss: &admin_mfa::Authenticated, ids: &[admin_mfa::AdminId]) -> admin_mfa::Result<()> {
    /// use admin_mfa::UnixTime;
    ///
    /// let in_two_weeks = UnixTime::from_secs(1_700_000_000 + 14 * 86_400);
    /// let report = service.require_mfa_by(boss, ids, in_two_weeks).await?;
    /// assert!(report.all_required());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MfaService::require_mfa`].
    pub async fn require_mfa_by(
        &self,
        actor: &Authenticated,
        targets: &[AdminId],
        deadline: UnixTime,
    ) -> Result<BulkReport> {
        self.require_mfa_until(actor, targets, Some(deadline)).await
    }

    async fn require_mfa_until(
        &self,
        actor: &Authenticated,
        targets: &[AdminId],
        deadline: Option<UnixTime>,
    ) -> Result<BulkReport> {
        let subject = self.actor(actor, true).await?;
        let context = self.policy_context(false);
        let (unique, first) = first_mentions(targets);
        let mut results: Vec<Option<BulkItem>> = Vec::with_capacity(unique.len());
        results.resize_with(unique.len(), || None);
        let size = self.config.bulk_chunk_size();
        let mut chunks = unique.chunks(size).zip(results.chunks_mut(size));
        // A decided chunk waiting for its write, which runs beside the next chunk's read.
        let mut decided: Option<DecidedChunk<'_>> = None;
        loop {
            let next = chunks.next();
            let last = next.is_none();
            let write = async {
                if let Some(chunk) = decided.take() {
                    self.write_chunk(&subject, &context, chunk, deadline).await;
                }
            };
            let decide = async {
                match next {
                    Some((ids, slots)) => {
                        self.decide_chunk(&subject, &context, ids, slots, deadline)
                            .await
                    }
                    None => None,
                }
            };
            let ((), next_decided) = both(write, decide).await;
            decided = next_decided;
            if last {
                break;
            }
        }
        // The first mention of an admin takes its result (`unique` is in first-mention
        // order, so the results are taken in turn); later mentions report "already required".
        let mut results = results.into_iter();
        let items = targets
            .iter()
            .zip(first)
            .map(|(id, first)| {
                let item = if first {
                    results.next().flatten()
                } else {
                    Some(BulkItem::AlreadyRequired)
                };
                (*id, item.unwrap_or(BulkItem::Failed(Error::Conflict)))
            })
            .collect();
        let report = BulkReport { items };
        tracing::info!(
            actor = %subject.id,
            asked = targets.len(),
            newly_required = report.newly_required(),
            failed = report.failures().count(),
            "bulk require finished"
        );
        Ok(report)
    }

    /// One chunk of a bulk require, decided together: one read, the policy and the lifecycle
    /// per admin. Admins that fail or need nothing get their result here; the others are
    /// returned with the change that writes them (`None` when there is nothing to write).
    /// If the read fails, every admin of the chunk is done on its own.
    async fn decide_chunk<'a>(
        &self,
        subject: &Admin,
        context: &PolicyContext,
        chunk: &'a [AdminId],
        results: &'a mut [Option<BulkItem>],
        deadline: Option<UnixTime>,
    ) -> Option<DecidedChunk<'a>> {
        let now = self.clock.now();
        let keys = self.keys.keys();
        let mut change = Change {
            writes: Vec::with_capacity(chunk.len()),
            audit: Vec::with_capacity(chunk.len()),
            outbox: Vec::with_capacity(chunk.len()),
        };
        // Which admins of the chunk the change writes.
        let mut pending = vec![false; chunk.len()];
        // The whole chunk in one read; if that fails, every admin is tried on its own.
        let found = match self.store.admins(subject.org, chunk).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "bulk chunk not read; one by one");
                for (id, slot) in chunk.iter().zip(results.iter_mut()) {
                    *slot = Some(self.require_one(subject, context, *id, deadline).await);
                }
                return None;
            }
        };
        for (((&id, slot), written), current) in chunk
            .iter()
            .zip(results.iter_mut())
            .zip(pending.iter_mut())
            .zip(found)
        {
            let mut set = |item: BulkItem| *slot = Some(item);
            let Some(current) = current else {
                set(BulkItem::Failed(Error::NotFound));
                continue;
            };
            if let Err(e) =
                self.authorize_on(subject, &Action::RequireMfaBulk, &current.value, context)
            {
                set(BulkItem::Failed(e));
                continue;
            }
            let ctx = DecideContext::new(id, self.config.lifecycle(), &keys);
            let command = Command::Require {
                by: subject.id,
                deadline,
            };
            match execute(&current.value.mfa, command, now, &ctx) {
                Ok((_, events)) if events.is_empty() => {
                    set(BulkItem::AlreadyRequired);
                }
                Ok((state, events)) => {
                    let mut next = current.value;
                    next.mfa = state;
                    let version = current.version.get();
                    record(&mut change, &next, &events, Some(subject.id), now, version);
                    change = change.update(next, current.version);
                    *written = true;
                }
                Err(e) => {
                    set(BulkItem::Failed(e.into()));
                }
            }
        }
        pending.contains(&true).then_some(DecidedChunk {
            ids: chunk,
            results,
            pending,
            change,
        })
    }

    /// Commits a decided chunk as one change; if that write fails, every admin it would
    /// have written is redone on its own.
    async fn write_chunk(
        &self,
        subject: &Admin,
        context: &PolicyContext,
        chunk: DecidedChunk<'_>,
        deadline: Option<UnixTime>,
    ) {
        let DecidedChunk {
            ids,
            results,
            pending,
            change,
        } = chunk;
        match self.store.commit(change).await {
            Ok(_) => {
                for (slot, written) in results.iter_mut().zip(&pending) {
                    if *written {
                        *slot = Some(BulkItem::Required);
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "bulk chunk not written; one by one");
                for ((id, slot), written) in ids.iter().zip(results.iter_mut()).zip(&pending) {
                    if *written {
                        *slot = Some(self.require_one(subject, context, *id, deadline).await);
                    }
                }
            }
        }
    }

    async fn require_one(
        &self,
        subject: &Admin,
        context: &PolicyContext,
        id: AdminId,
        deadline: Option<UnixTime>,
    ) -> BulkItem {
        let result = self
            .mutate(subject.org, id, Some(subject.id), |admin, _| {
                self.authorize_on(subject, &Action::RequireMfaBulk, admin, context)?;
                Ok(vec![Command::Require {
                    by: subject.id,
                    deadline,
                }])
            })
            .await;
        match result {
            Ok(applied) if applied.events.is_empty() => BulkItem::AlreadyRequired,
            Ok(_) => BulkItem::Required,
            Err(e) => BulkItem::Failed(e),
        }
    }

    /// Creates an admin account (policy action `create-admin`, Administrator With Billing
    /// only). With the default "new admins must use MFA" setting the admin starts
    /// *Required* and a setup e-mail is queued in the same store write.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`]; [`Error::InvalidInput`] for a malformed email or display name;
    /// [`Error::EmailTaken`]; the actor's session errors; infrastructure errors.
    pub async fn create_admin(&self, actor: &Authenticated, new: NewAdmin) -> Result<CreatedAdmin> {
        let subject = self.actor(actor, true).await?;
        let context = self.policy_context(false);
        self.authorize(
            &subject,
            &Action::CreateAdmin,
            Target::Org(subject.org),
            &context,
        )?;
        self.insert_admin(subject.org, Some(subject.id), None, new)
            .await
    }

    /// Creates the first admin of an organization that has no Administrator With Billing
    /// yet: the host's bootstrap path (run it from an installer or a migration, not from a
    /// public endpoint). The admin must be an Administrator With Billing; the "new admins
    /// must use MFA" setting applies as usual.
    ///
    /// At most one admin per organization is ever created this way, even when several calls
    /// race: the bootstrap admin's id is derived from the organization id, so the store's
    /// unique id lets exactly one insert win and every other call gets [`Error::Conflict`]
    /// (or [`Error::EmailTaken`] if it raced on the same address).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for another role or malformed input; [`Error::Conflict`] if
    /// the organization already has an Administrator With Billing or a bootstrap admin;
    /// infrastructure errors.
    pub async fn bootstrap_admin(
        &self,
        org: admin_mfa_lifecycle::OrgId,
        new: NewAdmin,
    ) -> Result<CreatedAdmin> {
        if new.role != Role::Builtin(BuiltinRole::AdministratorWithBilling) {
            return Err(Error::invalid(
                "role",
                "must be administrator-with-billing for the first admin",
            ));
        }
        let awb = Role::Builtin(BuiltinRole::AdministratorWithBilling);
        if self.store.count_with_role(org, &awb).await? > 0 {
            return Err(Error::Conflict);
        }
        self.insert_admin(org, None, Some(bootstrap_admin_id(org)), new)
            .await
    }

    /// The text fields of a new admin, checked before anything is hashed or stored (INP-1):
    /// the normalised address and the trimmed display name, or the first field refused.
    fn validate_new_admin(&self, new: &NewAdmin) -> Result<(Email, String)> {
        let email =
            Email::parse(&new.email).map_err(|e| Error::invalid("email", email_problem(&e)))?;
        let name = new.display_name.trim();
        if name.is_empty() {
            return Err(Error::invalid("display_name", "is empty"));
        }
        if name.len() > MAX_DISPLAY_NAME_LEN {
            return Err(Error::invalid("display_name", "is longer than 256 bytes"));
        }
        if name.chars().any(is_unsafe_in_text) {
            return Err(Error::invalid(
                "display_name",
                "contains a control or bidirectional-override character",
            ));
        }
        if !self.policy.roles().any(|r| *r == new.role) {
            return Err(Error::invalid(
                "role",
                "is not defined by the loaded policy",
            ));
        }
        Ok((email, name.to_owned()))
    }

    async fn insert_admin(
        &self,
        org: admin_mfa_lifecycle::OrgId,
        by: Option<AdminId>,
        id: Option<AdminId>,
        new: NewAdmin,
    ) -> Result<CreatedAdmin> {
        let (email, name) = self.validate_new_admin(&new)?;
        let hash = self
            .passwords
            .hash(&new.password)
            .await
            .map_err(|e: PasswordError| Error::Password(Box::new(e)))?;
        let now: UnixTime = self.clock.now();
        let id = match id {
            Some(id) => id,
            None => self.random_admin_id()?,
        };
        let mut admin = Admin::new(admin_mfa_lifecycle::AdminProfile {
            id,
            org,
            email,
            display_name: name,
            role: new.role,
            password_hash: hash,
            created_at: now,
        });
        let mut events = Vec::new();
        if self.config.new_admins_require_mfa() {
            let keys = self.keys.keys();
            let ctx = DecideContext::new(id, self.config.lifecycle(), &keys);
            let command = Command::Enable {
                by,
                fresh: self.fresh()?,
            };
            let (state, decided) = execute(&MfaState::new(), command, now, &ctx)?;
            admin.mfa = state;
            events = decided;
        }
        let mut change = Change::new();
        record(&mut change, &admin, &events, by, now, 0);
        let change = change.insert(admin.clone());
        let receipt = self.store.commit(change).await.map_err(|e| match e {
            StoreError::Conflict(ConflictKind::Email) => Error::EmailTaken,
            StoreError::Conflict(_) => Error::Conflict,
            other => Error::Store(other),
        })?;
        tracing::info!(admin = %id, org = %org, "admin created");
        Ok(CreatedAdmin {
            id,
            mfa_required: admin.mfa.requirement.is_required(),
            emails_queued: receipt.queued,
        })
    }
}

/// Characters no display name may hold: controls (NUL, newlines, escapes, C1) and the
/// Unicode bidirectional overrides and isolates that make a name read differently in an
/// e-mail or a log than it is (INP-1).
fn is_unsafe_in_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What is wrong with an e-mail address, in the words of [`Error::InvalidInput`].
const fn email_problem(e: &EmailError) -> &'static str {
    match e {
        EmailError::Empty => "is empty",
        EmailError::TooLong => "is too long",
        EmailError::ControlCharacter => "contains a control character",
        EmailError::Whitespace => "contains whitespace",
        _ => "is not an e-mail address",
    }
}

/// The id of an organization's bootstrap admin: the first 16 bytes of
/// SHA-256(domain ‖ org id), marked as an RFC 9562 version 8 (custom) UUID. One id per
/// organization, so the store's unique id makes concurrent bootstraps have one winner.
fn bootstrap_admin_id(org: admin_mfa_lifecycle::OrgId) -> AdminId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"admin-mfa/bootstrap-admin/v1\0")
        .chain_update(org.as_uuid().as_bytes())
        .finalize();
    let mut bytes = [0_u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x80;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    AdminId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_ids_are_per_org_and_stable() {
        let a = admin_mfa_lifecycle::OrgId::from_bytes([1; 16]);
        let b = admin_mfa_lifecycle::OrgId::from_bytes([2; 16]);
        assert_eq!(bootstrap_admin_id(a), bootstrap_admin_id(a));
        assert_ne!(bootstrap_admin_id(a), bootstrap_admin_id(b));
        let uuid = bootstrap_admin_id(a).as_uuid();
        assert_eq!(uuid.get_version_num(), 8);
    }
}

//! The MFA settings, applied: `GATEHOUSE_MFA` on the default authentication flow's validation
//! stage, and the step-up flows of `auth.mfa=true` apps (planned in
//! [`crate::plan::authentik::mfa`]). Made before the apps' requests in a round (a provider
//! names its step-up flow), the step-up flows no app uses removed after them. Reads are made
//! only when a setting or a label asks for them, or a step-up flow may be left over.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::Provisioner;
use crate::edge::authentik::{Api, ApiError};
use crate::edge::mfastate::MfaStateFile;
use crate::labels::authentik::AppWant;
use crate::model::authentik::{
    FlowCreate, FlowInfo, FlowStageBindingCreate, MaxAge, MfaMode, ProxyProvider, SetupStage,
    ValidateFields,
};
use crate::model::problem::{Problem, ProblemKind};
use crate::plan::authentik::mfa::{
    self, plan_stack, stepup, MfaActual, MfaOp, MfaRecord, RecordAfter, SetupKind, SetupRef,
    AUTHENTICATION_FLOW,
};
use crate::render::wording::{Describe, Tense};

/// The subject of a refused step-up request.
const STEPUP_SUBJECT: &str = "auth.mfa step-up flows";

/// The MFA part of a provisioner: the setting, the record and what is known of the step-up flows.
#[derive(Debug)]
pub(crate) struct MfaState {
    pub(crate) mode: MfaMode,
    pub(crate) file: Option<MfaStateFile>,
    /// The record, once read (`None` inside: nothing to put back).
    pub(crate) record: Option<Option<MfaRecord>>,
    /// This instance's step-up flows by age, as of the latest round.
    pub(crate) stepup: BTreeMap<MaxAge, String>,
    /// A step-up flow of gatehouse's may be in authentik although no app asks for one: until
    /// read once without finding one.
    pub(crate) stepup_possible: bool,
    /// Requests authentik refused (a 4xx), by request: not sent again for
    /// [`super::REFUSED_RETRY`] (the problem stays reported meanwhile).
    pub(crate) refused: BTreeMap<String, (Instant, Problem)>,
}

impl Default for MfaState {
    fn default() -> Self {
        Self {
            mode: MfaMode::Off,
            file: None,
            record: None,
            stepup: BTreeMap::new(),
            stepup_possible: true,
            refused: BTreeMap::new(),
        }
    }
}

/// What the first half of a round read, planned and did.
#[derive(Debug, Default)]
pub(crate) struct MfaRound {
    pub(crate) actual: MfaActual,
    pub(crate) ops: Vec<MfaOp>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) failed: usize,
    wanted: BTreeSet<MaxAge>,
    read_stepup: bool,
}

impl MfaRound {
    /// For a dry run: the step-up flows the round would make, as if made (no pk yet).
    pub(crate) fn assume_made(&self, flows: &mut BTreeMap<MaxAge, String>) {
        for age in &self.wanted {
            flows
                .entry(*age)
                .or_insert_with(|| "(made in this round)".to_owned());
        }
    }
}

/// Pks of what was made earlier in the apply, by name or slug.
#[derive(Default)]
struct Made {
    setup: BTreeMap<String, String>,
    stages: BTreeMap<String, String>,
    flows: BTreeMap<String, String>,
    /// The stack-wide fields sent.
    sent: Option<ValidateFields>,
}

fn wanted_ages(wants: &[AppWant]) -> BTreeSet<MaxAge> {
    wants.iter().filter_map(|w| w.mfa).collect()
}

impl<A: Api> Provisioner<A> {
    /// Reads what the MFA settings need, plans, and (`apply`) makes the stack-wide change and
    /// the step-up flows the apps ask for.
    pub(super) async fn mfa_before(
        &mut self,
        wants: &[AppWant],
        apply: bool,
    ) -> Result<MfaRound, ApiError> {
        let mut round = MfaRound {
            wanted: wanted_ages(wants),
            ..MfaRound::default()
        };
        let record = self.mfa_record(&mut round.problems);
        let stack = self.mfa.mode != MfaMode::Off || record.as_ref().is_some_and(Option::is_some);
        round.read_stepup = !round.wanted.is_empty() || self.mfa.stepup_possible;
        if !stack && !round.read_stepup {
            return Ok(round);
        }
        self.mfa_read(&mut round, stack).await?;
        let me = self.rules.instance.clone();
        if let (true, Some(record)) = (stack, &record) {
            let plan = plan_stack(self.mfa.mode, &round.actual, record.as_ref(), &me);
            round.problems.extend(plan.problems.iter().cloned());
            round.ops.extend(plan.ops.iter().cloned());
            if apply {
                let mut made = Made::default();
                let ok = self.mfa_apply(&plan.ops, &mut made, &mut round).await?;
                if ok {
                    self.mfa_keep(plan.record, made.sent, &mut round.problems);
                }
            }
        }
        let (creates, _) = stepup::plan(&round.actual, &round.wanted, &me, true);
        round.ops.extend(creates.iter().cloned());
        if apply {
            let mut made = Made::default();
            self.mfa_apply(&creates, &mut made, &mut round).await?;
            for (slug, pk) in made.flows {
                if let Some(age) = stepup::age_of(&me, &slug) {
                    self.mfa.stepup.insert(age, pk);
                }
            }
        }
        Ok(round)
    }

    /// After the apps' requests: removes the step-up flows no app uses (and no provider read
    /// this round still points at). `hold`: removals are held.
    pub(super) async fn mfa_after(
        &mut self,
        round: &mut MfaRound,
        providers: &[ProxyProvider],
        hold: bool,
        apply: bool,
    ) -> Result<(), ApiError> {
        if !round.read_stepup {
            return Ok(());
        }
        round.actual.flows_in_use = providers
            .iter()
            .filter_map(|p| p.authorization_flow.clone())
            .collect();
        let me = self.rules.instance.clone();
        let (_, deletes) = stepup::plan(&round.actual, &round.wanted, &me, hold);
        round.ops.extend(deletes.iter().cloned());
        if apply {
            let mut made = Made::default();
            if self.mfa_apply(&deletes, &mut made, round).await? {
                for op in &deletes {
                    if let MfaOp::DeleteStepUpFlow { slug } = op {
                        if let Some(age) = stepup::age_of(&me, slug) {
                            self.mfa.stepup.remove(&age);
                        }
                    }
                }
            }
        }
        self.mfa.stepup_possible = !round.wanted.is_empty() || !self.mfa.stepup.is_empty();
        Ok(())
    }

    /// [`Self::mfa_after`] for a round that applies: removals held while labels are rejected.
    pub(super) async fn mfa_settle(
        &mut self,
        round: &mut MfaRound,
        desired: &crate::plan::authentik::Desired,
        providers: &[ProxyProvider],
    ) -> Result<(), ApiError> {
        let hold = !desired.hold_removals.is_empty() || !desired.held.is_empty();
        self.mfa_after(round, providers, hold, true).await
    }

    /// The record, read once from the state file; `None` when it cannot be read (said as a
    /// problem: nothing stack-wide is changed then).
    fn mfa_record(&mut self, problems: &mut Vec<Problem>) -> Option<Option<MfaRecord>> {
        if self.mfa.record.is_none() {
            match self.mfa.file.as_ref().map(MfaStateFile::load) {
                None => self.mfa.record = Some(None),
                Some(Ok(r)) => self.mfa.record = Some(r),
                Some(Err(e)) => {
                    problems.push(Problem::new(
                        ProblemKind::Warning,
                        mfa::SUBJECT,
                        format!("GATEHOUSE_MFA={}: {e}", self.mfa.mode),
                    ));
                    return None;
                }
            }
        }
        self.mfa.record.clone()
    }

    async fn mfa_read(&mut self, round: &mut MfaRound, stack: bool) -> Result<(), ApiError> {
        let c = &self.client;
        let me = &self.rules.instance;
        let a = &mut round.actual;
        if round.read_stepup {
            let flows = c.authorization_flows().await?;
            a.stepup_flows = flows
                .into_iter()
                .filter(|f| stepup::age_of(me, &f.slug).is_some())
                .collect();
            self.mfa.stepup = stepup::stepup_flows(me, &a.stepup_flows);
            for f in &a.stepup_flows {
                a.bindings.extend(c.flow_bindings(&f.pk).await?);
            }
            if round.wanted.is_empty() && a.stepup_flows.is_empty() {
                round.read_stepup = false;
                self.mfa.stepup_possible = false;
            }
        }
        if !stack && !round.read_stepup {
            return Ok(());
        }
        if stack {
            a.flow = c
                .flow_by_slug(AUTHENTICATION_FLOW)
                .await?
                .map(|f| FlowInfo {
                    pk: f.pk,
                    slug: f.slug,
                    ..FlowInfo::default()
                });
            if let Some(f) = &a.flow {
                a.bindings.extend(c.flow_bindings(&f.pk).await?);
            }
        }
        a.validate_stages = c.validate_stages().await?;
        a.totp_stages = c.setup_stages(SetupKind::Totp).await?;
        if self.mfa.mode == MfaMode::Webauthn {
            a.webauthn_stages = c.setup_stages(SetupKind::Webauthn).await?;
        }
        Ok(())
    }

    /// Keeps the record as the plan says, once its requests were made.
    fn mfa_keep(
        &mut self,
        after: RecordAfter,
        sent: Option<ValidateFields>,
        problems: &mut Vec<Problem>,
    ) {
        let next = match after {
            RecordAfter::Unchanged => return,
            RecordAfter::Clear => None,
            RecordAfter::Save(mut r) => {
                if let Some(sent) = sent {
                    r.set = sent;
                }
                Some(r)
            }
        };
        if let Some(file) = &self.mfa.file {
            if let Err(e) = file.save(&next) {
                problems.push(Problem::new(
                    ProblemKind::Warning,
                    mfa::SUBJECT,
                    format!("cannot keep what GATEHOUSE_MFA changed: {e}"),
                ));
            }
        }
        self.mfa.record = Some(next);
    }

    /// Makes `ops` in order; a refused one (4xx) stops the rest, is reported, and is not sent
    /// again for a while. Whether all were made.
    async fn mfa_apply(
        &mut self,
        ops: &[MfaOp],
        made: &mut Made,
        round: &mut MfaRound,
    ) -> Result<bool, ApiError> {
        for op in ops {
            let key = format!("{op:?}");
            if let Some((at, problem)) = self.mfa.refused.get(&key) {
                if at.elapsed() < super::REFUSED_RETRY {
                    round.failed += 1;
                    round.problems.push(problem.clone());
                    return Ok(false);
                }
            }
            match self.mfa_op(op, made).await {
                Ok(()) => {
                    self.mfa.refused.remove(&key);
                    tracing::info!("{}", op.said(Tense::Done));
                }
                Err(e) if e.is_transient() || e.status() == Some(403) => return Err(e),
                Err(e) => {
                    let problem = refusal(op, &e);
                    round.failed += 1;
                    round.problems.push(problem.clone());
                    self.mfa.refused.insert(key, (Instant::now(), problem));
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    async fn mfa_op(&self, op: &MfaOp, made: &mut Made) -> Result<(), ApiError> {
        let c = &self.client;
        match op {
            MfaOp::CreateSetupStage { kind, name } => {
                let s: SetupStage = c.create_setup_stage(*kind, name).await?;
                made.setup.insert(name.clone(), s.pk);
            }
            MfaOp::PatchValidateStage {
                pk, fields, setup, ..
            } => {
                let mut body = fields.clone();
                if let Some(s) = setup {
                    body.configuration_stages = vec![setup_pk(s, made)];
                }
                c.patch_validate_stage(pk, &body).await?;
                made.sent = Some(body);
            }
            MfaOp::CreateStepUpStage { body, setup, .. } => {
                let mut body = body.clone();
                body.configuration_stages = vec![setup_pk(setup, made)];
                let s = c.create_validate_stage(&body).await?;
                made.stages.insert(body.name.clone(), s.pk);
            }
            MfaOp::CreateStepUpFlow { age, slug } => {
                let f = c
                    .create_flow(&FlowCreate {
                        name: format!("gatehouse: second factor within {}", age.key()),
                        slug: slug.clone(),
                        title: "Confirm it is you".into(),
                        designation: "authorization".into(),
                    })
                    .await?;
                made.flows.insert(slug.clone(), f.pk);
            }
            MfaOp::BindStepUp { flow, stage, .. } => {
                let target = match made.flows.get(flow) {
                    Some(pk) => pk.clone(),
                    None => self.existing_flow(flow),
                };
                let stage = match made.stages.get(stage) {
                    Some(pk) => pk.clone(),
                    None => c
                        .validate_stages()
                        .await?
                        .into_iter()
                        .find(|s| &s.name == stage)
                        .map(|s| s.pk)
                        .unwrap_or_default(),
                };
                c.create_flow_binding(&FlowStageBindingCreate {
                    target: target.clone(),
                    stage,
                    order: 10,
                })
                .await?;
                made.flows.insert(flow.clone(), target);
            }
            MfaOp::DeleteStepUpFlow { slug } => c.delete_flow(slug).await?,
            MfaOp::DeleteStepUpStage { pk, .. } => c.delete_validate_stage(pk).await?,
        }
        Ok(())
    }

    fn existing_flow(&self, slug: &str) -> String {
        let me = &self.rules.instance;
        stepup::age_of(me, slug)
            .and_then(|a| self.mfa.stepup.get(&a).cloned())
            .unwrap_or_default()
    }
}

/// What is reported of a request authentik refused.
fn refusal(op: &MfaOp, e: &ApiError) -> Problem {
    let subject = match op {
        MfaOp::CreateSetupStage { .. } | MfaOp::PatchValidateStage { .. } => mfa::SUBJECT,
        _ => STEPUP_SUBJECT,
    };
    let what = op.said(Tense::Planned).to_string();
    Problem::new(
        ProblemKind::Refused,
        subject,
        format!(
            "authentik refused to {}: {e}",
            what.trim_start_matches("would ")
        ),
    )
}

fn setup_pk(s: &SetupRef, made: &Made) -> String {
    match s {
        SetupRef::Existing { pk, .. } => pk.clone(),
        SetupRef::New { name, .. } => made.setup.get(name).cloned().unwrap_or_default(),
    }
}

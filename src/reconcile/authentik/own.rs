//! A remote host's own outpost in the round: created (or its config fixed) before the plan, so
//! the plan puts this host's providers in it; deleted after, once they moved back to the
//! embedded outpost; then the keeper makes the container match.

use super::Provisioner;
use crate::edge::authentik::{Api, ApiError};
use crate::model::problem::{Problem, ProblemKind};
use crate::plan::authentik::remote::{own, plan_own, OutpostStep};
use crate::plan::authentik::Actual;
use crate::render::wording::{Describe, Tense};

impl<A: Api> Provisioner<A> {
    /// Creates or reconfigures this instance's outpost (the created one is added to `actual`);
    /// returns the delete, made after the plan. A refusal is a problem of the round.
    pub(super) async fn own_outpost_before(
        &mut self,
        actual: &mut Actual,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<OutpostStep>, ApiError> {
        let Some(step) = plan_own(&actual.outposts, &self.rules) else {
            return Ok(None);
        };
        let sent = match &step {
            OutpostStep::Delete { .. } => return Ok(Some(step)),
            OutpostStep::Create { body } => self.client.create_outpost(body).await.map(|o| {
                actual.outposts.push(o);
            }),
            OutpostStep::PatchConfig { pk, body, .. } => {
                self.client.patch_outpost_config(pk, body).await
            }
        };
        self.outpost_sent(&step, sent, problems)?;
        Ok(None)
    }

    /// The delete planned by [`Self::own_outpost_before`], made now.
    pub(super) async fn own_outpost_after(
        &mut self,
        step: Option<OutpostStep>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), ApiError> {
        if let Some(step @ OutpostStep::Delete { .. }) = step {
            let OutpostStep::Delete { pk, .. } = &step else {
                return Ok(());
            };
            let sent = self.client.delete_outpost(pk).await;
            self.outpost_sent(&step, sent, problems)?;
        }
        Ok(())
    }

    fn outpost_sent(
        &self,
        step: &OutpostStep,
        sent: Result<(), ApiError>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), ApiError> {
        match sent {
            Ok(()) => {
                tracing::info!("{}", step.said(Tense::Done));
                Ok(())
            }
            Err(e) if e.is_transient() || matches!(e.status(), Some(401 | 403)) => Err(e),
            Err(e) => {
                let name = crate::plan::authentik::remote::outpost_name(&self.rules.instance)
                    .unwrap_or_default();
                problems.push(Problem::new(
                    ProblemKind::Refused,
                    format!("outpost {name}"),
                    format!("authentik refused: {} ({e})", step.said(Tense::Planned)),
                ));
                Ok(())
            }
        }
    }

    /// The keeper's round on the container (after a round that reached authentik). Its
    /// failures are logged; the container and the confs stay as they are meanwhile.
    pub(super) async fn keep_container(&mut self, actual: &Actual) {
        let Some(keeper) = self.keeper.as_mut() else {
            return;
        };
        let outpost = own(&actual.outposts, &self.rules.instance);
        if let Err(e) = keeper.converge(&self.client, outpost).await {
            tracing::warn!(error = %e, "could not keep the outpost container; tried again next round");
        }
    }

    /// What the own-outpost step and the keeper would do, and the outpost's health (`render`).
    pub(super) async fn preview_own(&mut self, actual: &Actual) -> Vec<String> {
        let mut lines: Vec<String> = plan_own(&actual.outposts, &self.rules)
            .iter()
            .map(|s| s.said(Tense::Planned).to_string())
            .collect();
        let outpost = own(&actual.outposts, &self.rules.instance);
        if let Some(keeper) = self.keeper.as_mut() {
            lines.extend(keeper.preview(&self.client, outpost).await);
        }
        lines
    }
}

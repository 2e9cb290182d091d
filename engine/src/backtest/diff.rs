//! Comparing two plans of one incident, and counting what plans would do.
//!
//! Actions are matched between the plans by (SOP, gamebook, step, action, target id), not by
//! their idempotency key: the key hashes the gamebook version, so a version bump would make every
//! action look removed and added again. When several actions share a match key (a for-each over a
//! list that names a target twice, a comment per user), those with the same params are paired
//! first, then the rest in plan order.

use std::collections::{BTreeMap, VecDeque};

/// Maps hash with `foldhash`, as in `entities.rs`: much faster than SipHash on short keys, and
/// only looked up (what is written follows the plans' order).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use serde::Serialize;

use crate::plan::model::{Approval, Plan, PlannedAction, Status, Target};

/// How an action differs between the base plan and the working-tree plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only the working-tree plan has it.
    Added,
    /// Only the base plan has it.
    Removed,
    /// Both have it, with different statuses (and maybe different params).
    Status,
    /// Both have it, with the same status and different params.
    Params,
    /// Both have it, with the same status and params, asking another approval (another role,
    /// or the same role for another reason: a gate's timeout, an SOP rule, the mode).
    Approval,
}

/// The approval an action asks for in each plan, where the two differ and its status does not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApprovalChange {
    pub from: Option<Approval>,
    pub to: Option<Approval>,
}

/// A param of an action that differs between the two plans: its value in each (`None` where
/// the action does not have it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamChange {
    pub from: Option<serde_json::Value>,
    pub to: Option<serde_json::Value>,
}

/// One action that differs between the two plans of an incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub change: ChangeKind,
    pub sop: String,
    pub gamebook: String,
    pub step: String,
    pub action: &'static str,
    pub target: Option<Target>,
    /// The status in the base plan (`None` when added).
    pub from: Option<Status>,
    /// The status in the working-tree plan (`None` when removed).
    pub to: Option<Status>,
    /// The params that differ, by name, for an action both plans have.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamChange>,
    /// The approval asked for, where it differs and the status does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalChange>,
}

/// (SOP, gamebook, step, action, target id, whether the row says the step did not run): rows
/// that say a step did not run pair only with each other.
type MatchKey<'p> = (
    &'p str,
    &'p str,
    &'p str,
    &'static str,
    Option<&'p str>,
    bool,
);

fn match_key(a: &PlannedAction) -> MatchKey<'_> {
    let (sop, gamebook, step, action) = step_key(a);
    (
        sop,
        gamebook,
        step,
        action,
        a.target.as_ref().map(|t| t.id.as_str()),
        a.stands_for_its_step(),
    )
}

/// (SOP, gamebook, step, action): the rows of one step, whatever their targets.
type StepKey<'p> = (&'p str, &'p str, &'p str, &'static str);

fn step_key(a: &PlannedAction) -> StepKey<'_> {
    (
        a.sop.as_str(),
        a.gamebook.as_str(),
        a.step.as_str(),
        a.action,
    )
}

fn change(
    a: &PlannedAction,
    change: ChangeKind,
    from: Option<Status>,
    to: Option<Status>,
) -> Change {
    Change {
        change,
        sop: a.sop.clone(),
        gamebook: a.gamebook.clone(),
        step: a.step.clone(),
        action: a.action,
        target: a.target.clone(),
        from,
        to,
        params: BTreeMap::new(),
        approval: None,
    }
}

/// The params whose values differ between two versions of an action; none when either is
/// skipped, whose params are not worked out (its condition was false), and none that either
/// leaves out as not known until a step it waits on runs.
fn param_changes(base: &PlannedAction, head: &PlannedAction) -> BTreeMap<String, ParamChange> {
    let skipped = |a: &PlannedAction| a.status == Status::Skipped;
    if skipped(base) || skipped(head) || base.params == head.params {
        return BTreeMap::new();
    }
    let pending =
        |name: &str| base.pending_params.contains(&name) || head.pending_params.contains(&name);
    let names = base.params.keys().chain(head.params.keys());
    names
        .filter(|name| !pending(name))
        .filter_map(|name| {
            let (from, to) = (base.params.get(name), head.params.get(name));
            (from != to).then(|| {
                (
                    name.clone(),
                    ParamChange {
                        from: from.cloned(),
                        to: to.cloned(),
                    },
                )
            })
        })
        .collect()
}

/// The actions added, removed or with a changed status or params from `base` to `head`: added
/// and changed ones in `head`'s order, then removed ones in `base`'s order.
///
/// Actions of one match key are paired with the same action of the other plan first (same
/// params), then the rest in plan order: a for-each that comments once per user, losing the
/// first user, loses that comment, and the others are not shifted onto each other.
///
/// A row that says its step did not run ([`PlannedAction::is_step_not_run`]) is no action: it
/// stands for every action of its step, none of which happens. Where the other plan has actions
/// of that step, each is shown with its own target as now skipped (`~ would run → skipped`), or
/// no longer skipped; where it has none, the step does nothing on both sides, and that is no
/// change.
pub fn diff(base: &[PlannedAction], head: &[PlannedAction]) -> Vec<Change> {
    // Canonical text of an action's params (serde_json maps are sorted); serializing a JSON
    // map cannot fail.
    let params_text = |a: &PlannedAction| serde_json::to_string(&a.params).unwrap_or_default();
    // Per match key: the base actions in plan order, and how many head actions have it.
    let mut groups: HashMap<MatchKey<'_>, (VecDeque<usize>, usize)> = HashMap::default();
    for (i, a) in base.iter().enumerate() {
        groups.entry(match_key(a)).or_default().0.push_back(i);
    }
    let head_keys: Vec<MatchKey<'_>> = head.iter().map(match_key).collect();
    for key in &head_keys {
        groups.entry(*key).or_default().1 += 1;
    }
    // Where both plans have at most one action of a key, pairing by params is pairing in
    // order, and the params need not be spelled out (most keys).
    let shared = |g: &(VecDeque<usize>, usize)| g.0.len() > 1 || g.1 > 1;
    let mut same: HashMap<(MatchKey<'_>, String), VecDeque<usize>> = HashMap::default();
    for (i, a) in base.iter().enumerate() {
        let key = match_key(a);
        if groups.get(&key).is_some_and(shared) {
            same.entry((key, params_text(a))).or_default().push_back(i);
        }
    }
    let mut paired = vec![false; base.len()];
    // The first base action of `queue` not paired yet.
    let take = |queue: Option<&mut VecDeque<usize>>, paired: &mut Vec<bool>| {
        let queue = queue?;
        while let Some(i) = queue.pop_front() {
            if let Some(p) = paired.get_mut(i).filter(|p| !**p) {
                *p = true;
                return Some(i);
            }
        }
        None
    };
    let mut partner: Vec<Option<usize>> = head
        .iter()
        .zip(&head_keys)
        .map(|(h, key)| {
            if !groups.get(key).is_some_and(shared) {
                return None;
            }
            take(same.get_mut(&(*key, params_text(h))), &mut paired)
        })
        .collect();
    for (key, p) in head_keys.iter().zip(partner.iter_mut()) {
        if p.is_none() {
            *p = take(groups.get_mut(key).map(|g| &mut g.0), &mut paired);
        }
    }
    // What pairing left of the base: its actions per step, in plan order (for a step the
    // working tree did not run), and the steps it did not run.
    let mut base_left: HashMap<StepKey<'_>, VecDeque<usize>> = HashMap::default();
    // The base's rows that stand for their steps, by step: their status is every action's
    // (and whether it is for items not known yet).
    let mut base_whole: HashMap<StepKey<'_>, (Status, bool)> = HashMap::default();
    for (i, (b, done)) in base.iter().zip(&paired).enumerate() {
        if *done {
            continue;
        }
        if b.stands_for_its_step() {
            base_whole.insert(step_key(b), (b.status, b.items_unknown));
        } else {
            base_left.entry(step_key(b)).or_default().push_back(i);
        }
    }
    let head_steps: HashSet<StepKey<'_>> = head.iter().map(step_key).collect();
    let mut out = Vec::new();
    for (h, p) in head.iter().zip(&partner) {
        match p.and_then(|i| base.get(i)) {
            Some(b) => {
                let params = param_changes(b, h);
                // Who approves is policy: a change of it is a change even where nothing else
                // is (a status change says enough of what the approval became).
                // An action waiting on a step before it is compared by the approval it needs
                // itself once that is done.
                let needs = |a: &PlannedAction| a.approval.clone().or(a.own_approval.clone());
                let approval =
                    (b.status == h.status && needs(b) != needs(h)).then(|| ApprovalChange {
                        from: needs(b),
                        to: needs(h),
                    });
                let kind = if b.status != h.status {
                    ChangeKind::Status
                } else if !params.is_empty() {
                    ChangeKind::Params
                } else if approval.is_some() {
                    ChangeKind::Approval
                } else {
                    continue;
                };
                out.push(Change {
                    params,
                    approval,
                    ..change(h, kind, Some(b.status), Some(h.status))
                });
            }
            // The step no longer runs, or its items are not known yet: what the base did in it
            // is now skipped, or waiting, target by target.
            None if h.stands_for_its_step() => {
                let left = base_left.remove(&step_key(h)).unwrap_or_default();
                // Items not known yet where the base did nothing of the step: it may act now.
                if left.is_empty() && h.items_unknown {
                    out.push(change(h, ChangeKind::Added, None, Some(h.status)));
                }
                for i in left {
                    let Some(b) = base.get(i) else { continue };
                    if let Some(p) = paired.get_mut(i) {
                        *p = true;
                    }
                    // What was blocked (a protected target) is blocked once the items are
                    // known too.
                    let stays = h.items_unknown && b.status == Status::Blocked;
                    if b.status != h.status && !stays {
                        out.push(change(
                            b,
                            ChangeKind::Status,
                            Some(b.status),
                            Some(h.status),
                        ));
                    }
                }
            }
            // The step did not run in the base, or its items were not known: this action was
            // skipped, or waiting, there.
            None if base_whole.contains_key(&step_key(h)) => {
                let (was, items_unknown) = base_whole
                    .get(&step_key(h))
                    .copied()
                    .unwrap_or((Status::Skipped, false));
                // What is blocked (a protected target) was blocked once the items were known
                // too, as the other way round.
                let stays = items_unknown && h.status == Status::Blocked;
                if h.status != was && !stays {
                    out.push(change(h, ChangeKind::Status, Some(was), Some(h.status)));
                }
            }
            None => out.push(change(h, ChangeKind::Added, None, Some(h.status))),
        }
    }
    for (b, done) in base.iter().zip(&paired) {
        // A row standing for its step is no action; one of items not known yet, whose step
        // the working tree no longer has at all, may have acted.
        let removed =
            !b.stands_for_its_step() || (b.items_unknown && !head_steps.contains(&step_key(b)));
        if !done && removed {
            out.push(change(b, ChangeKind::Removed, Some(b.status), None));
        }
    }
    out
}

/// Actions counted by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub would_run: u64,
    pub awaiting_approval: u64,
    pub blocked: u64,
    pub skipped: u64,
    /// Always 0 in a backtest, which refuses no approval; not shown.
    #[serde(skip)]
    pub rejected: u64,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::WouldRun => self.would_run += 1,
            Status::AwaitingApproval => self.awaiting_approval += 1,
            Status::Blocked => self.blocked += 1,
            Status::Skipped => self.skipped += 1,
            Status::Rejected => self.rejected += 1,
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.would_run += other.would_run;
        self.awaiting_approval += other.awaiting_approval;
        self.blocked += other.blocked;
        self.skipped += other.skipped;
        self.rejected += other.rejected;
    }

    /// The actions of one status.
    pub fn of(&self, status: Status) -> u64 {
        match status {
            Status::WouldRun => self.would_run,
            Status::AwaitingApproval => self.awaiting_approval,
            Status::Blocked => self.blocked,
            Status::Skipped => self.skipped,
            Status::Rejected => self.rejected,
        }
    }

    /// Actions that would run or await approval: what the engine would (try to) do.
    pub fn active(&self) -> u64 {
        self.would_run + self.awaiting_approval
    }

    pub fn total(&self) -> u64 {
        self.active() + self.blocked + self.skipped + self.rejected
    }
}

/// Per-SOP totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SopCounts {
    /// Incidents the SOP matched.
    pub incidents: u64,
    /// The actions of its gamebooks over those incidents.
    pub actions: Counts,
}

/// What the plans of a set of incidents would do, summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Incidents planned.
    pub incidents: u64,
    /// Incidents with at least one action.
    pub with_actions: u64,
    pub actions: BTreeMap<&'static str, Counts>,
    pub sops: BTreeMap<String, SopCounts>,
}

impl Tally {
    /// Adds one incident's plan.
    ///
    /// A row that says its step did not run ([`PlannedAction::is_step_not_run`]) is no action
    /// and is not counted: how many there are says how many steps were skipped, not how many
    /// actions.
    pub fn add_plan(&mut self, plan: &Plan) {
        self.incidents += 1;
        let actions = || plan.actions.iter().filter(|a| !a.stands_for_its_step());
        if actions().next().is_some() {
            self.with_actions += 1;
        }
        for m in plan.sops.iter().filter(|m| m.matched) {
            match self.sops.get_mut(&m.name) {
                Some(s) => s.incidents += 1,
                None => {
                    self.sops.insert(
                        m.name.clone(),
                        SopCounts {
                            incidents: 1,
                            actions: Counts::default(),
                        },
                    );
                }
            }
        }
        for a in actions() {
            self.actions.entry(a.action).or_default().add(a.status);
            match self.sops.get_mut(&a.sop) {
                Some(s) => s.actions.add(a.status),
                None => {
                    let mut s = SopCounts::default();
                    s.actions.add(a.status);
                    self.sops.insert(a.sop.clone(), s);
                }
            }
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.incidents += other.incidents;
        self.with_actions += other.with_actions;
        for (action, counts) in other.actions {
            self.actions.entry(action).or_default().merge(&counts);
        }
        for (sop, counts) in other.sops {
            let s = self.sops.entry(sop).or_default();
            s.incidents += counts.incidents;
            s.actions.merge(&counts.actions);
        }
    }

    /// All actions of all plans, by status.
    pub fn overall(&self) -> Counts {
        let mut c = Counts::default();
        for counts in self.actions.values() {
            c.merge(counts);
        }
        c
    }
}

/// The change of one count between the base and the working tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub name: String,
    pub base: u64,
    pub head: u64,
    pub delta: i64,
}

fn delta(name: &str, base: u64, head: u64) -> Delta {
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Delta {
        name: name.to_string(),
        base,
        head,
        delta: signed(head).saturating_sub(signed(base)),
    }
}

/// The action ids either side planned, sorted.
fn action_ids(base: &Tally, head: &Tally) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = base
        .actions
        .keys()
        .chain(head.actions.keys())
        .copied()
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Per action id, the change in the number of actions that would run or await approval;
/// only action ids whose count changed.
pub fn action_deltas(base: &Tally, head: &Tally) -> Vec<Delta> {
    action_ids(base, head)
        .into_iter()
        .map(|n| {
            let count = |t: &Tally| t.actions.get(n).map_or(0, Counts::active);
            delta(n, count(base), count(head))
        })
        .filter(|d| d.delta != 0)
        .collect()
}

/// Per action id and status, the change in the number of actions; only those that changed.
/// This shows what [`action_deltas`] sums away: actions that moved from awaiting approval to
/// would run, or became blocked or skipped.
pub fn status_deltas(base: &Tally, head: &Tally) -> Vec<(Status, Delta)> {
    let mut out = Vec::new();
    for n in action_ids(base, head) {
        for status in [
            Status::WouldRun,
            Status::AwaitingApproval,
            Status::Blocked,
            Status::Skipped,
        ] {
            let count = |t: &Tally| t.actions.get(n).map_or(0, |c| c.of(status));
            let d = delta(n, count(base), count(head));
            if d.delta != 0 {
                out.push((status, d));
            }
        }
    }
    out
}

/// Per SOP, the change in the number of incidents it matched; only SOPs whose count changed.
pub fn sop_deltas(base: &Tally, head: &Tally) -> Vec<Delta> {
    let mut names: Vec<&str> = base
        .sops
        .keys()
        .chain(head.sops.keys())
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let count = |t: &Tally| t.sops.get(n).map_or(0, |s| s.incidents);
            delta(n, count(base), count(head))
        })
        .filter(|d| d.delta != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(
        step: &str,
        action: &'static str,
        target: Option<&str>,
        status: Status,
    ) -> PlannedAction {
        PlannedAction {
            key: format!("key-{step}-{}", target.unwrap_or("")),
            sop: "sop".into(),
            gamebook: "gb".into(),
            step: step.into(),
            action,
            target: target.map(|t| Target {
                kind: "device".into(),
                id: t.into(),
                name: t.to_uppercase(),
            }),
            params: serde_json::Map::new(),
            status,
            approval: None,
            reason: String::new(),
            provider: None,
            execution: None,
            pending_params: Vec::new(),
            items_unknown: false,
            items_not_listed: false,
            own_approval: None,
        }
    }

    fn comment(text: &str, status: Status) -> PlannedAction {
        let mut a = action("per_user.note", "incident.comment", None, status);
        a.params.insert("comment".into(), serde_json::json!(text));
        a
    }

    /// Of actions that share a match key (a comment per user), the same ones are paired first:
    /// dropping the first user drops that comment, and shifts nothing.
    #[test]
    fn the_same_actions_pair_before_the_rest() {
        let base = vec![
            comment("user a", Status::WouldRun),
            comment("user b", Status::WouldRun),
        ];
        let head = vec![comment("user b", Status::WouldRun)];
        let changes = diff(&base, &head);
        assert_eq!(changes.len(), 1, "{changes:#?}");
        assert_eq!(changes[0].change, ChangeKind::Removed);
        // The rest still pair in order: a reworded comment is a change of params.
        let head = vec![
            comment("user a", Status::WouldRun),
            comment("user b, reworded", Status::WouldRun),
        ];
        let changes = diff(&base, &head);
        let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.change).collect();
        assert_eq!(kinds, [ChangeKind::Params]);
        assert_eq!(
            changes[0].params["comment"].to,
            Some(serde_json::json!("user b, reworded"))
        );
    }

    /// A param left out as not known until a step it reads has run is not removed: the change
    /// is the status alone.
    #[test]
    fn a_param_not_known_yet_is_not_removed() {
        let base = vec![comment("0 device(s) isolated", Status::WouldRun)];
        let mut waiting = action(
            "per_user.note",
            "incident.comment",
            None,
            Status::AwaitingApproval,
        );
        waiting.pending_params = vec!["comment"];
        let changes = diff(&base, std::slice::from_ref(&waiting));
        assert_eq!(changes.len(), 1, "{changes:#?}");
        assert_eq!(changes[0].change, ChangeKind::Status);
        assert!(changes[0].params.is_empty(), "{changes:#?}");
        let changes = diff(&[waiting], &base);
        assert!(changes[0].params.is_empty(), "{changes:#?}");
    }

    /// A step skipped before its items were known: one skipped row without a target.
    fn step_not_run(step: &str) -> PlannedAction {
        action(step, "url.block", None, Status::Skipped)
    }

    #[test]
    fn a_step_that_did_not_run_is_no_change_where_it_did_nothing() {
        let comment = action("note", "incident.comment", None, Status::WouldRun);
        let base = vec![comment.clone()];
        let head = vec![step_not_run("block_urls"), comment];
        assert!(diff(&base, &head).is_empty());
        assert!(diff(&head, &base).is_empty());
        assert!(diff(&head, &head).is_empty());
        // A skipped action on the incident is an action, not a step that did not run.
        let skipped_comment = action("note", "incident.comment", None, Status::Skipped);
        let changes = diff(&[], &[skipped_comment]);
        let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.change).collect();
        assert_eq!(kinds, [ChangeKind::Added]);
    }

    /// A row whose for-each items are not known yet (behind a gate) stands for the step's
    /// actions, as a step that did not run does: against the other plan's actions of the step,
    /// each target changes status on its own (and, standing for its step, it is counted
    /// nowhere: `Tally::add_plan`).
    #[test]
    fn items_not_known_yet_stand_for_the_steps_actions() {
        let scans = |status| {
            vec![
                action("scan", "device.quick_scan", Some("d1"), status),
                action("scan", "device.quick_scan", Some("d2"), status),
            ]
        };
        let mut waiting = action("scan", "device.quick_scan", None, Status::AwaitingApproval);
        waiting.items_unknown = true;
        let shown = |changes: Vec<Change>| -> Vec<_> {
            changes
                .iter()
                .map(|c| {
                    (
                        c.change,
                        c.from,
                        c.to,
                        c.target.as_ref().map(|t| t.id.clone()),
                    )
                })
                .collect()
        };
        let now_run = shown(diff(
            std::slice::from_ref(&waiting),
            &scans(Status::WouldRun),
        ));
        assert_eq!(
            now_run,
            ["d1", "d2"].map(|t| (
                ChangeKind::Status,
                Some(Status::AwaitingApproval),
                Some(Status::WouldRun),
                Some(t.to_string())
            ))
        );
        let now_wait = shown(diff(
            &scans(Status::WouldRun),
            std::slice::from_ref(&waiting),
        ));
        assert_eq!(now_wait.len(), 2, "{now_wait:?}");
        // A protected target stays blocked once the items are known, either way round.
        assert!(diff(&scans(Status::Blocked), std::slice::from_ref(&waiting)).is_empty());
        assert!(diff(std::slice::from_ref(&waiting), &scans(Status::Blocked)).is_empty());
        assert!(diff(
            &scans(Status::AwaitingApproval),
            std::slice::from_ref(&waiting)
        )
        .is_empty());
        assert!(diff(
            std::slice::from_ref(&waiting),
            std::slice::from_ref(&waiting)
        )
        .is_empty());
        assert!(waiting.stands_for_its_step());
    }

    #[test]
    fn a_step_that_stops_running_skips_each_of_its_targets() {
        let blocks = |status| {
            vec![
                action("block_urls", "url.block", Some("u1"), status),
                action("block_urls", "url.block", Some("u2"), status),
            ]
        };
        let base = blocks(Status::WouldRun);
        let head = vec![step_not_run("block_urls")];
        let changes = diff(&base, &head);
        let shown: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.change,
                    c.from,
                    c.to,
                    c.target.as_ref().map(|t| t.id.as_str()),
                )
            })
            .collect();
        let skipped = |id| {
            (
                ChangeKind::Status,
                Some(Status::WouldRun),
                Some(Status::Skipped),
                Some(id),
            )
        };
        assert_eq!(shown, [skipped("u1"), skipped("u2")]);
        // And back: each target is no longer skipped.
        let changes = diff(&head, &base);
        let shown: Vec<_> = changes.iter().map(|c| (c.change, c.from, c.to)).collect();
        let resumed = (
            ChangeKind::Status,
            Some(Status::Skipped),
            Some(Status::WouldRun),
        );
        assert_eq!(shown, [resumed, resumed]);
        // Targets already skipped one by one stay skipped: no change.
        assert!(diff(&blocks(Status::Skipped), &head).is_empty());
        // Another step's actions are not taken for this one's.
        let other = vec![step_not_run("block_files")];
        let kinds: Vec<ChangeKind> = diff(&base, &other).iter().map(|c| c.change).collect();
        assert_eq!(kinds, [ChangeKind::Removed, ChangeKind::Removed]);
    }

    #[test]
    fn a_step_that_did_not_run_is_not_counted() {
        let plan = |actions: Vec<PlannedAction>| Plan {
            incident: crate::plan::model::IncidentSummary {
                id: "1".into(),
                number: None,
                source: String::new(),
                workspace: None,
                severity: "high".into(),
                title: String::new(),
            },
            workspace: String::new(),
            now: String::new(),
            eligibility: Vec::new(),
            classification: None,
            unclassified: String::new(),
            sops: Vec::new(),
            actions,
            tasks: Vec::new(),
            summary: Default::default(),
            trace: Vec::new(),
        };
        let mut tally = Tally::default();
        tally.add_plan(&plan(vec![step_not_run("block_urls")]));
        assert_eq!((tally.incidents, tally.with_actions), (1, 0));
        assert_eq!(tally.overall().total(), 0);
        tally.add_plan(&plan(vec![action(
            "note",
            "incident.comment",
            None,
            Status::Skipped,
        )]));
        assert_eq!((tally.with_actions, tally.overall().skipped), (1, 1));
    }

    #[test]
    fn equal_plans_have_no_changes() {
        let a = vec![
            action("isolate", "device.isolate", Some("d1"), Status::WouldRun),
            action("comment", "incident.comment", None, Status::Skipped),
        ];
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn keys_do_not_matter_but_targets_do() {
        let base = vec![action(
            "isolate",
            "device.isolate",
            Some("d1"),
            Status::AwaitingApproval,
        )];
        let mut head = base.clone();
        head[0].key = "a-new-version-changes-the-key".into();
        assert!(diff(&base, &head).is_empty());
        if let Some(t) = head[0].target.as_mut() {
            t.id = "d2".into();
        }
        let changes = diff(&base, &head);
        let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.change).collect();
        assert_eq!(kinds, [ChangeKind::Added, ChangeKind::Removed]);
    }

    #[test]
    fn added_removed_and_status_changes() {
        let base = vec![
            action(
                "isolate",
                "device.isolate",
                Some("d1"),
                Status::AwaitingApproval,
            ),
            action("scan", "device.scan", Some("d1"), Status::WouldRun),
        ];
        let head = vec![
            action("isolate", "device.isolate", Some("d1"), Status::WouldRun),
            action("disable", "user.disable", Some("u1"), Status::WouldRun),
        ];
        let changes = diff(&base, &head);
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0].change, ChangeKind::Status);
        assert_eq!(changes[0].from, Some(Status::AwaitingApproval));
        assert_eq!(changes[0].to, Some(Status::WouldRun));
        assert_eq!(changes[1].change, ChangeKind::Added);
        assert_eq!(changes[1].action, "user.disable");
        assert_eq!(changes[2].change, ChangeKind::Removed);
        assert_eq!(changes[2].action, "device.scan");
        assert_eq!(changes[2].to, None);
    }

    #[test]
    fn repeated_keys_pair_in_order() {
        let two = |s1, s2| {
            vec![
                action("block", "file.block", Some("f"), s1),
                action("block", "file.block", Some("f"), s2),
            ]
        };
        let base = two(Status::WouldRun, Status::Blocked);
        assert!(diff(&base, &base).is_empty());
        let head = two(Status::WouldRun, Status::WouldRun);
        let changes = diff(&base, &head);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].from, Some(Status::Blocked));
        let changes = diff(&base, &head[..1]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].change, ChangeKind::Removed);
        assert_eq!(changes[0].from, Some(Status::Blocked));
    }

    #[test]
    fn deltas_count_active_actions() {
        let mut base = Tally::default();
        let mut head = Tally::default();
        base.actions
            .entry("device.isolate")
            .or_default()
            .add(Status::AwaitingApproval);
        base.actions
            .entry("user.disable")
            .or_default()
            .add(Status::WouldRun);
        base.actions
            .entry("user.disable")
            .or_default()
            .add(Status::WouldRun);
        head.actions
            .entry("device.isolate")
            .or_default()
            .add(Status::WouldRun);
        head.actions
            .entry("device.isolate")
            .or_default()
            .add(Status::WouldRun);
        head.actions
            .entry("user.disable")
            .or_default()
            .add(Status::Blocked);
        head.actions
            .entry("device.scan")
            .or_default()
            .add(Status::Skipped);
        let d = action_deltas(&base, &head);
        assert_eq!(
            d,
            [
                Delta {
                    name: "device.isolate".into(),
                    base: 1,
                    head: 2,
                    delta: 1
                },
                Delta {
                    name: "user.disable".into(),
                    base: 2,
                    head: 0,
                    delta: -2
                },
            ]
        );
    }
}

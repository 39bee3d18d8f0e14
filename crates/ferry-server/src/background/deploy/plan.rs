//! The rollout as a pure plan: `(service, desired revision, observed instances) ->
//! actions`. No runtime, no store, no clock: the executor gathers what is observed,
//! asks for the plan and applies one short action at a time, so every step can be
//! cancelled and every case is unit-tested from a table.

use ferry_types::{InstanceId, RevisionId};

/// Whether a revision is ready to roll out (the build reconciler's verdict).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildState {
    /// Gates and build still to run.
    Pending,
    /// Gates passed and the build (if any) succeeded.
    Built,
    /// Failed or cancelled; the build reconciler moves `desired` back.
    Failed,
}

/// The revision the service should run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredView {
    pub id: RevisionId,
    pub build: BuildState,
    /// Instances it should have: the autoscaler's desired count, which may be 0 (scaled
    /// to zero). A rollout still starts at least one instance, to prove the revision
    /// healthy before it takes traffic; the autoscaler scales it back down after.
    pub wanted: usize,
    /// A static site: the router serves its files, so it needs no instance at all.
    pub files: bool,
}

/// One instance as observed at the start of a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceView {
    pub id: InstanceId,
    pub revision: RevisionId,
    pub health: HealthView,
    pub in_rotation: bool,
    /// Out of rotation, waiting for in-flight requests to end.
    pub draining: Option<DrainView>,
    /// A stop is running, or failed and waits for its retry: nothing else to do.
    pub stopping: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthView {
    Starting,
    Ready,
    Failed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainView {
    /// No request in flight any more, or the drain timeout passed.
    pub done: bool,
}

/// Everything the planner looks at.
#[derive(Clone, Debug)]
pub struct Observed {
    pub deleting: bool,
    pub paused: bool,
    pub active: Option<RevisionId>,
    pub desired: Option<DesiredView>,
    /// In start order (oldest first).
    pub instances: Vec<InstanceView>,
    /// Replacements of crashed instances wait for their backoff.
    pub backoff: bool,
}

/// One step. The executor applies them in order; each is short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Take the service's hosts out of the router (delete: before instances stop, so
    /// clients get 404, never a 502 from a stopping instance).
    Unroute,
    /// Start instances of a revision (out of rotation until switched or admitted).
    Start {
        revision: RevisionId,
        count: usize,
    },
    /// The revision's ready instances take all traffic in one table swap; every other
    /// instance drains. The revision becomes active.
    Switch {
        revision: RevisionId,
    },
    /// A rollout cannot succeed: the revision fails, the previous one keeps serving.
    FailRollout {
        revision: RevisionId,
        reason: String,
    },
    /// Ready instances of the active revision join the rotation.
    Admit(Vec<InstanceId>),
    /// Out of rotation; stop once in-flight requests end (bounded by the drain timeout).
    Drain(Vec<InstanceId>),
    /// Failed instances of the active revision: stop, count the restart, back off.
    Replace(Vec<(InstanceId, String)>),
    Stop(Vec<InstanceId>),
    /// Everything is stopped: remove the service's files and row.
    Delete,
}

/// What the service is doing, for `ferry status` and the router's 503 page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    Nothing,
    Building,
    StartingInstances,
    Draining,
    Stopping,
}

/// The plan for one pass.
pub fn plan(observed: &Observed) -> (Vec<Action>, Wait) {
    let mut actions = Vec::new();
    let live: Vec<&InstanceView> = observed.instances.iter().filter(|i| !i.stopping).collect();
    let ids = |list: &[&InstanceView]| list.iter().map(|i| i.id.clone()).collect::<Vec<_>>();

    if observed.deleting {
        actions.push(Action::Unroute);
        if !live.is_empty() {
            actions.push(Action::Stop(ids(&live)));
        }
        if observed.instances.is_empty() {
            actions.push(Action::Delete);
            return (actions, Wait::Nothing);
        }
        return (actions, Wait::Stopping);
    }

    // Drains that finished stop, whatever the service's state.
    let drained: Vec<&InstanceView> = live
        .iter()
        .copied()
        .filter(|i| i.draining.is_some_and(|d| d.done))
        .collect();
    if !drained.is_empty() {
        actions.push(Action::Stop(ids(&drained)));
    }
    let undrained = |i: &&InstanceView| i.draining.is_none();
    let working: Vec<&InstanceView> = live.iter().copied().filter(undrained).collect();

    if observed.paused {
        if !working.is_empty() {
            actions.push(Action::Drain(ids(&working)));
        }
        let wait = if observed.instances.is_empty() {
            Wait::Nothing
        } else {
            Wait::Draining
        };
        return (actions, wait);
    }

    let Some(desired) = &observed.desired else {
        // No revision to run (the first deployment failed): nothing should run.
        if !working.is_empty() {
            actions.push(Action::Stop(ids(&working)));
        }
        return (actions, Wait::Nothing);
    };

    // Instances of neither the active nor the desired revision (a superseded rollout,
    // an interrupted drain) are not in rotation: stop them.
    let stray = |i: &&InstanceView| {
        i.revision != desired.id && Some(&i.revision) != observed.active.as_ref()
    };
    let strays: Vec<&InstanceView> = working.iter().copied().filter(stray).collect();
    let (stray_serving, stray_idle): (Vec<&InstanceView>, Vec<&InstanceView>) =
        strays.into_iter().partition(|i| i.in_rotation);
    if !stray_serving.is_empty() {
        actions.push(Action::Drain(ids(&stray_serving)));
    }
    if !stray_idle.is_empty() {
        actions.push(Action::Stop(ids(&stray_idle)));
    }
    let of_desired: Vec<&InstanceView> = working
        .iter()
        .copied()
        .filter(|i| i.revision == desired.id)
        .collect();

    let rolling_out = observed.active.as_ref() != Some(&desired.id);
    if rolling_out {
        match desired.build {
            BuildState::Pending | BuildState::Failed => return (actions, Wait::Building),
            BuildState::Built => {}
        }
        if desired.files {
            // Nothing to start: the switch publishes the files (or fails the rollout
            // when they cannot be served) and every instance drains.
            actions.push(Action::Switch {
                revision: desired.id.clone(),
            });
            return (actions, Wait::Draining);
        }
        if let Some(failed) = of_desired.iter().find_map(|i| match &i.health {
            HealthView::Failed(reason) => Some((i, reason)),
            _ => None,
        }) {
            actions.push(Action::FailRollout {
                revision: desired.id.clone(),
                reason: format!("instance {} {}", failed.0.id, failed.1),
            });
            actions.push(Action::Stop(ids(&of_desired)));
            return (actions, Wait::Nothing);
        }
        let wanted = desired.wanted.max(1);
        if of_desired.len() < wanted {
            actions.push(Action::Start {
                revision: desired.id.clone(),
                count: wanted - of_desired.len(),
            });
            return (actions, Wait::StartingInstances);
        }
        if of_desired.iter().all(|i| i.health == HealthView::Ready) {
            actions.push(Action::Switch {
                revision: desired.id.clone(),
            });
            return (actions, Wait::Draining);
        }
        return (actions, Wait::StartingInstances);
    }

    // Steady state: the desired revision is active.
    if desired.files {
        // Its files serve; no instance belongs to it (none is ever started).
        let (serving, idle): (Vec<&InstanceView>, Vec<&InstanceView>) =
            of_desired.iter().copied().partition(|i| i.in_rotation);
        if !serving.is_empty() {
            actions.push(Action::Drain(ids(&serving)));
        }
        if !idle.is_empty() {
            actions.push(Action::Stop(ids(&idle)));
        }
        let draining = live.iter().any(|i| i.draining.is_some_and(|d| !d.done));
        let wait = if draining {
            Wait::Draining
        } else {
            Wait::Nothing
        };
        return (actions, wait);
    }
    let failed: Vec<(InstanceId, String)> = of_desired
        .iter()
        .filter_map(|i| match &i.health {
            HealthView::Failed(reason) => Some((i.id.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    let replacing = !failed.is_empty();
    if replacing {
        actions.push(Action::Replace(failed));
    }
    let healthy: Vec<&InstanceView> = of_desired
        .iter()
        .copied()
        .filter(|i| !matches!(i.health, HealthView::Failed(_)))
        .collect();
    let admit: Vec<&InstanceView> = healthy
        .iter()
        .copied()
        .filter(|i| i.health == HealthView::Ready && !i.in_rotation)
        .collect();
    if !admit.is_empty() {
        actions.push(Action::Admit(ids(&admit)));
    }
    let mut wait = Wait::Nothing;
    if healthy.len() < desired.wanted {
        // A replacement waits for the backoff its failure starts (next pass).
        if !observed.backoff && !replacing {
            actions.push(Action::Start {
                revision: desired.id.clone(),
                count: desired.wanted - healthy.len(),
            });
        }
        wait = Wait::StartingInstances;
    } else if healthy.len() > desired.wanted {
        // Scale in: the newest go first (the oldest have proven themselves).
        let extra: Vec<&InstanceView> = healthy
            .iter()
            .rev()
            .take(healthy.len() - desired.wanted)
            .copied()
            .collect();
        actions.push(Action::Drain(ids(&extra)));
    }
    if healthy.iter().any(|i| i.health == HealthView::Starting) {
        wait = Wait::StartingInstances;
    }
    if wait == Wait::Nothing && live.iter().any(|i| i.draining.is_some_and(|d| !d.done)) {
        wait = Wait::Draining;
    }
    (actions, wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: u8) -> RevisionId {
        RevisionId::from_string(format!("rev-{n}"))
    }

    fn inst(id: &str, revision: u8, health: HealthView, in_rotation: bool) -> InstanceView {
        InstanceView {
            id: InstanceId::from_string(id.to_string()),
            revision: rev(revision),
            health,
            in_rotation,
            draining: None,
            stopping: false,
        }
    }

    fn ready(id: &str, revision: u8) -> InstanceView {
        inst(id, revision, HealthView::Ready, true)
    }

    fn draining(id: &str, revision: u8, done: bool) -> InstanceView {
        InstanceView {
            draining: Some(DrainView { done }),
            in_rotation: false,
            ..ready(id, revision)
        }
    }

    fn ids(list: &[&str]) -> Vec<InstanceId> {
        list.iter()
            .map(|i| InstanceId::from_string(i.to_string()))
            .collect()
    }

    fn observed(active: Option<u8>, desired: Option<(u8, BuildState, usize)>) -> Observed {
        Observed {
            deleting: false,
            paused: false,
            active: active.map(rev),
            desired: desired.map(|(n, build, wanted)| DesiredView {
                id: rev(n),
                build,
                wanted,
                files: false,
            }),
            instances: Vec::new(),
            backoff: false,
        }
    }

    struct Case {
        name: &'static str,
        given: Observed,
        actions: Vec<Action>,
        wait: Wait,
    }

    fn cases() -> Vec<Case> {
        use BuildState::*;
        let with = |mut o: Observed, instances: Vec<InstanceView>| {
            o.instances = instances;
            o
        };
        vec![
            Case {
                name: "first deploy waits for its build",
                given: observed(None, Some((1, Pending, 1))),
                actions: vec![],
                wait: Wait::Building,
            },
            Case {
                name: "first deploy starts min instances once built",
                given: observed(None, Some((1, Built, 2))),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 2,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "first deploy waits while an instance starts",
                given: with(
                    observed(None, Some((1, Built, 2))),
                    vec![ready("a", 1), inst("b", 1, HealthView::Starting, false)],
                ),
                actions: vec![],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "all new instances ready: switch",
                given: with(
                    observed(None, Some((1, Built, 1))),
                    vec![inst("a", 1, HealthView::Ready, false)],
                ),
                actions: vec![Action::Switch { revision: rev(1) }],
                wait: Wait::Draining,
            },
            Case {
                name: "new revision: the old one serves while the new one starts",
                given: with(
                    observed(Some(1), Some((2, Built, 1))),
                    vec![ready("old", 1)],
                ),
                actions: vec![Action::Start {
                    revision: rev(2),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "new revision ready: switch (the executor drains the old one)",
                given: with(
                    observed(Some(1), Some((2, Built, 1))),
                    vec![ready("old", 1), inst("new", 2, HealthView::Ready, false)],
                ),
                actions: vec![Action::Switch { revision: rev(2) }],
                wait: Wait::Draining,
            },
            Case {
                name: "failed start: the rollout fails and the old revision keeps serving",
                given: with(
                    observed(Some(1), Some((2, Built, 2))),
                    vec![
                        ready("old", 1),
                        inst("n1", 2, HealthView::Ready, false),
                        inst(
                            "n2",
                            2,
                            HealthView::Failed("exited with code 3".into()),
                            false,
                        ),
                    ],
                ),
                actions: vec![
                    Action::FailRollout {
                        revision: rev(2),
                        reason: "instance n2 exited with code 3".into(),
                    },
                    Action::Stop(ids(&["n1", "n2"])),
                ],
                wait: Wait::Nothing,
            },
            Case {
                name: "autoscaled to zero: every instance drains, none starts",
                given: with(
                    observed(Some(1), Some((1, Built, 0))),
                    vec![ready("a", 1), ready("b", 1)],
                ),
                actions: vec![Action::Drain(ids(&["b", "a"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "at zero and wanted zero: nothing to do",
                given: observed(Some(1), Some((1, Built, 0))),
                actions: vec![],
                wait: Wait::Nothing,
            },
            Case {
                name: "woken from zero: start the instances wanted",
                given: observed(Some(1), Some((1, Built, 1))),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "autoscaler scales out: start the difference, keep serving",
                given: with(observed(Some(1), Some((1, Built, 4))), vec![ready("a", 1)]),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 3,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "autoscaler scales in: the newest extra instances drain",
                given: with(
                    observed(Some(1), Some((1, Built, 2))),
                    vec![ready("a", 1), ready("b", 1), ready("c", 1), ready("d", 1)],
                ),
                actions: vec![Action::Drain(ids(&["d", "c"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "a rollout while at zero still proves one instance healthy",
                given: observed(Some(1), Some((2, Built, 0))),
                actions: vec![Action::Start {
                    revision: rev(2),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "a rollout while at zero switches once its instance is ready",
                given: with(
                    observed(Some(1), Some((2, Built, 0))),
                    vec![inst("n", 2, HealthView::Ready, false)],
                ),
                actions: vec![Action::Switch { revision: rev(2) }],
                wait: Wait::Draining,
            },
            Case {
                name: "a revision still building does not touch what serves",
                given: with(
                    observed(Some(1), Some((2, Pending, 1))),
                    vec![ready("old", 1)],
                ),
                actions: vec![],
                wait: Wait::Building,
            },
            Case {
                name: "crash during steady state: replace",
                given: with(
                    observed(Some(1), Some((1, Built, 2))),
                    vec![
                        ready("a", 1),
                        inst(
                            "b",
                            1,
                            HealthView::Failed("exited with code 1".into()),
                            true,
                        ),
                    ],
                ),
                actions: vec![Action::Replace(vec![(
                    InstanceId::from_string("b".to_string()),
                    "exited with code 1".into(),
                )])],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "after a replacement's backoff, start it",
                given: with(observed(Some(1), Some((1, Built, 2))), vec![ready("a", 1)]),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "crash during backoff: replace, start later",
                given: Observed {
                    backoff: true,
                    ..with(
                        observed(Some(1), Some((1, Built, 1))),
                        vec![inst("a", 1, HealthView::Failed("oom".into()), true)],
                    )
                },
                actions: vec![Action::Replace(vec![(
                    InstanceId::from_string("a".to_string()),
                    "oom".into(),
                )])],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "a replacement that became ready is admitted",
                given: with(
                    observed(Some(1), Some((1, Built, 2))),
                    vec![ready("a", 1), inst("b", 1, HealthView::Ready, false)],
                ),
                actions: vec![Action::Admit(ids(&["b"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "pause drains everything",
                given: Observed {
                    paused: true,
                    ..with(
                        observed(Some(1), Some((1, Built, 1))),
                        vec![ready("a", 1), ready("b", 1)],
                    )
                },
                actions: vec![Action::Drain(ids(&["a", "b"]))],
                wait: Wait::Draining,
            },
            Case {
                name: "paused: drained instances stop",
                given: Observed {
                    paused: true,
                    ..with(
                        observed(Some(1), Some((1, Built, 1))),
                        vec![draining("a", 1, true), draining("b", 1, false)],
                    )
                },
                actions: vec![Action::Stop(ids(&["a"]))],
                wait: Wait::Draining,
            },
            Case {
                name: "resume starts the active revision again",
                given: observed(Some(1), Some((1, Built, 1))),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "delete unroutes, then stops",
                given: Observed {
                    deleting: true,
                    ..with(observed(Some(1), Some((1, Built, 1))), vec![ready("a", 1)])
                },
                actions: vec![Action::Unroute, Action::Stop(ids(&["a"]))],
                wait: Wait::Stopping,
            },
            Case {
                name: "delete waits for running stops",
                given: Observed {
                    deleting: true,
                    ..with(
                        observed(Some(1), Some((1, Built, 1))),
                        vec![InstanceView {
                            stopping: true,
                            ..ready("a", 1)
                        }],
                    )
                },
                actions: vec![Action::Unroute],
                wait: Wait::Stopping,
            },
            Case {
                name: "delete removes the service once nothing runs",
                given: Observed {
                    deleting: true,
                    ..observed(Some(1), Some((1, Built, 1)))
                },
                actions: vec![Action::Unroute, Action::Delete],
                wait: Wait::Nothing,
            },
            Case {
                name: "scale up",
                given: with(observed(Some(1), Some((1, Built, 3))), vec![ready("a", 1)]),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 2,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "scale down drains the newest",
                given: with(
                    observed(Some(1), Some((1, Built, 1))),
                    vec![ready("a", 1), ready("b", 1), ready("c", 1)],
                ),
                actions: vec![Action::Drain(ids(&["c", "b"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "old instances drain after a switch, then stop",
                given: with(
                    observed(Some(2), Some((2, Built, 1))),
                    vec![draining("old", 1, true), ready("new", 2)],
                ),
                actions: vec![Action::Stop(ids(&["old"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "instances of a superseded rollout stop",
                given: with(
                    observed(Some(1), Some((3, Pending, 1))),
                    vec![ready("a", 1), inst("x", 2, HealthView::Starting, false)],
                ),
                actions: vec![Action::Stop(ids(&["x"]))],
                wait: Wait::Building,
            },
            Case {
                name: "no desired revision: nothing runs",
                given: with(
                    observed(None, None),
                    vec![inst("x", 2, HealthView::Starting, false)],
                ),
                actions: vec![Action::Stop(ids(&["x"]))],
                wait: Wait::Nothing,
            },
            Case {
                name: "rollback to an older revision starts it while the current serves",
                given: with(observed(Some(2), Some((1, Built, 1))), vec![ready("b", 2)]),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "static site: waits for its build like any revision",
                given: files(observed(Some(1), Some((2, Pending, 1)))),
                actions: vec![],
                wait: Wait::Building,
            },
            Case {
                name: "static site built: switch at once, nothing started, the old instance drains",
                given: with(
                    files(observed(Some(1), Some((2, Built, 3)))),
                    vec![ready("old", 1)],
                ),
                actions: vec![Action::Switch { revision: rev(2) }],
                wait: Wait::Draining,
            },
            Case {
                name: "static site serving: the autoscaler's count starts nothing",
                given: files(observed(Some(2), Some((2, Built, 4)))),
                actions: vec![],
                wait: Wait::Nothing,
            },
            Case {
                name: "static site serving: drained instances of the old revision stop",
                given: with(
                    files(observed(Some(2), Some((2, Built, 1)))),
                    vec![draining("old", 1, true), draining("older", 1, false)],
                ),
                actions: vec![Action::Stop(ids(&["old"]))],
                wait: Wait::Draining,
            },
            Case {
                name: "rollback from a static site to an app starts its instances",
                given: observed(Some(2), Some((1, Built, 1))),
                actions: vec![Action::Start {
                    revision: rev(1),
                    count: 1,
                }],
                wait: Wait::StartingInstances,
            },
            Case {
                name: "static site paused: nothing to drain",
                given: {
                    let mut o = files(observed(Some(2), Some((2, Built, 1))));
                    o.paused = true;
                    o
                },
                actions: vec![],
                wait: Wait::Nothing,
            },
        ]
    }

    /// The desired revision is a static site.
    fn files(mut o: Observed) -> Observed {
        if let Some(desired) = o.desired.as_mut() {
            desired.files = true;
        }
        o
    }

    #[test]
    fn the_plan_for_every_case() {
        for case in cases() {
            let (actions, wait) = plan(&case.given);
            assert_eq!(actions, case.actions, "{}", case.name);
            assert_eq!(wait, case.wait, "{}", case.name);
        }
    }

    #[test]
    fn a_stopping_instance_is_never_acted_on_again() {
        let mut given = observed(Some(1), Some((1, BuildState::Built, 1)));
        given.instances = vec![
            InstanceView {
                stopping: true,
                ..inst("a", 1, HealthView::Failed("x".into()), false)
            },
            ready("b", 1),
        ];
        let (actions, _) = plan(&given);
        assert!(actions.is_empty(), "{actions:?}");
    }
}

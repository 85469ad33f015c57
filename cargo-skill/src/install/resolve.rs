//! Dependency resolution for installs: one version per skill name, the
//! highest one every requirer accepts, already-installed skills kept when
//! they still fit; cycles and `conflicts-with` refused, naming who asked.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graphmap::DiGraphMap;
use semver::{Version, VersionReq};
use skill_runtime::manifest::Dependency;

/// What resolution needs to know of one version of a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    pub dependencies: Vec<Dependency>,
    pub conflicts_with: Vec<String>,
}

/// Where versions come from: a fetched repository (its tags and its ref).
pub trait Catalog {
    /// Every version of `name` on offer; empty when the source has none.
    fn versions(&mut self, name: &str) -> anyhow::Result<Vec<Version>>;
    fn release(&mut self, name: &str, version: &Version) -> anyhow::Result<Release>;
}

/// A skill already in the home folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub release: Release,
}

/// A skill the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub req: VersionReq,
}

/// One skill of the resolved set, dependencies before their dependents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub release: Release,
    /// Already installed at this version: nothing to do.
    pub keep: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no version of `{name}` satisfies every requirement: {}; available: {}",
        list(requirers.iter().map(|(who, req)| format!("{who} needs {req}"))),
        versions(available)
    )]
    Unsatisfiable {
        name: String,
        requirers: Vec<(String, VersionReq)>,
        available: Vec<Version>,
    },
    #[error("dependency cycle: {0}; a skill cannot depend on itself, directly or through others")]
    Cycle(String),
    #[error("{skill} conflicts with {other}{}; remove one of them first", if *installed { " (installed)" } else { "" })]
    Conflict {
        skill: String,
        other: String,
        installed: bool,
    },
    #[error(
        "the requirements did not settle after {0} rounds ({1}): install the skills one at a time with --version to pin them"
    )]
    Unsettled(usize, String),
    #[error(transparent)]
    Catalog(#[from] anyhow::Error),
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn versions(available: &[Version]) -> String {
    if available.is_empty() {
        "none (it is neither in the source nor installed)".into()
    } else {
        list(available.iter().map(|v| v.to_string()))
    }
}

const ROOT: &str = "the command line";
const MAX_ROUNDS: usize = 64;

/// Resolves `roots` and their dependencies against `catalog`, keeping
/// installed skills that satisfy every requirement (roots are always taken
/// from the catalog), and honouring installed skills' own requirements.
/// When a requirement cannot be met, older versions of the skills that
/// asked for it are tried (a bounded search) before giving up.
pub fn resolve(
    roots: &[Request],
    installed: &[Installed],
    catalog: &mut dyn Catalog,
) -> Result<Vec<Step>, ResolveError> {
    let mut excluded = BTreeSet::new();
    let mut budget = MAX_BACKTRACKS;
    search(roots, installed, catalog, &mut excluded, &mut budget).and_then(order)
}

/// Versions tried and set aside before a resolution gives up.
const MAX_BACKTRACKS: usize = 64;

fn search(
    roots: &[Request],
    installed: &[Installed],
    catalog: &mut dyn Catalog,
    excluded: &mut BTreeSet<(String, Version)>,
    budget: &mut usize,
) -> Result<BTreeMap<String, Step>, ResolveError> {
    let (error, culprits) = match settle(roots, installed, catalog, excluded) {
        Ok(chosen) => return Ok(chosen),
        Err(Failed::Other(e)) => return Err(e),
        Err(Failed::Unsatisfiable(error, culprits)) => (error, culprits),
    };
    for culprit in culprits {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        excluded.insert(culprit.clone());
        match search(roots, installed, catalog, excluded, budget) {
            Ok(chosen) => return Ok(chosen),
            Err(_) => {
                excluded.remove(&culprit);
            }
        }
    }
    Err(error)
}

enum Failed {
    /// The error, and the chosen releases whose requirements caused it.
    Unsatisfiable(ResolveError, Vec<(String, Version)>),
    Other(ResolveError),
}

impl From<anyhow::Error> for Failed {
    fn from(e: anyhow::Error) -> Failed {
        Failed::Other(ResolveError::Catalog(e))
    }
}

/// One version per name, settled to a fixed point, `excluded` versions aside.
fn settle(
    roots: &[Request],
    installed: &[Installed],
    catalog: &mut dyn Catalog,
    excluded: &BTreeSet<(String, Version)>,
) -> Result<BTreeMap<String, Step>, Failed> {
    let installed_by_name: BTreeMap<&str, &Installed> =
        installed.iter().map(|i| (i.name.as_str(), i)).collect();
    let root_names: BTreeSet<&str> = roots.iter().map(|r| r.name.as_str()).collect();
    let mut chosen: BTreeMap<String, Step> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        let reqs = requirements(roots, &chosen, installed);
        let mut next = BTreeMap::new();
        for (name, requirers) in &reqs {
            let fits = |v: &Version| requirers.iter().all(|(_, req)| req.matches(v));
            let kept = installed_by_name
                .get(name.as_str())
                .filter(|i| !root_names.contains(name.as_str()) && fits(&i.release.version));
            let step = match kept {
                Some(i) => Step {
                    name: name.clone(),
                    release: i.release.clone(),
                    keep: true,
                },
                None => {
                    let available = catalog.versions(name)?;
                    let best = available
                        .iter()
                        .filter(|v| fits(v) && !excluded.contains(&(name.clone(), (*v).clone())))
                        .max()
                        .cloned();
                    let Some(best) = best else {
                        let mut available = available;
                        available.extend(
                            installed_by_name
                                .get(name.as_str())
                                .map(|i| i.release.version.clone()),
                        );
                        available.sort();
                        available.dedup();
                        let culprits = chosen
                            .values()
                            .filter(|s| {
                                !s.keep && s.release.dependencies.iter().any(|d| d.name == *name)
                            })
                            .map(|s| (s.name.clone(), s.release.version.clone()))
                            .collect();
                        let error = ResolveError::Unsatisfiable {
                            name: name.clone(),
                            requirers: requirers.clone(),
                            available,
                        };
                        return Err(Failed::Unsatisfiable(error, culprits));
                    };
                    let release = match chosen.get(name) {
                        Some(step) if step.release.version == best && !step.keep => {
                            step.release.clone()
                        }
                        _ => catalog.release(name, &best)?,
                    };
                    Step {
                        name: name.clone(),
                        release,
                        keep: false,
                    }
                }
            };
            next.insert(name.clone(), step);
        }
        if next == chosen {
            return Ok(chosen);
        }
        chosen = next;
    }
    Err(Failed::Other(ResolveError::Unsettled(
        MAX_ROUNDS,
        list(
            chosen
                .values()
                .map(|s| format!("{} v{}", s.name, s.release.version)),
        ),
    )))
}

/// Who needs which skill at which versions, given the current choices.
fn requirements(
    roots: &[Request],
    chosen: &BTreeMap<String, Step>,
    installed: &[Installed],
) -> BTreeMap<String, Vec<(String, VersionReq)>> {
    let mut reqs: BTreeMap<String, Vec<(String, VersionReq)>> = BTreeMap::new();
    for root in roots {
        reqs.entry(root.name.clone())
            .or_default()
            .push((ROOT.to_string(), root.req.clone()));
    }
    for step in chosen.values() {
        for dep in &step.release.dependencies {
            reqs.entry(dep.name.clone()).or_default().push((
                format!("{} v{}", step.name, step.release.version),
                dep.req.clone(),
            ));
        }
    }
    // Installed skills that stay keep needing what they need.
    for skill in installed {
        let replaced = chosen.get(&skill.name).is_some_and(|s| !s.keep)
            || roots.iter().any(|r| r.name == skill.name);
        if replaced {
            continue;
        }
        for dep in &skill.release.dependencies {
            if let Some(requirers) = reqs.get_mut(&dep.name) {
                requirers.push((
                    format!("{} v{} (installed)", skill.name, skill.release.version),
                    dep.req.clone(),
                ));
            }
        }
    }
    reqs
}

/// Dependencies first; a cycle is named.
fn order(chosen: BTreeMap<String, Step>) -> Result<Vec<Step>, ResolveError> {
    let mut graph: DiGraphMap<&str, ()> = DiGraphMap::new();
    for step in chosen.values() {
        graph.add_node(&step.name);
    }
    for step in chosen.values() {
        for dep in &step.release.dependencies {
            if chosen.contains_key(&dep.name) {
                graph.add_edge(&step.name, &dep.name, ());
            }
        }
    }
    let label = |name: &str| format!("{name} v{}", chosen[name].release.version);
    for component in tarjan_scc(&graph) {
        let first = *component.iter().min().expect("components are not empty");
        if component.len() > 1 || graph.contains_edge(first, first) {
            let members: HashSet<&str> = component.iter().copied().collect();
            let path = cycle_through(&graph, first, &members);
            let path: Vec<String> = path.iter().map(|n| label(n)).collect();
            return Err(ResolveError::Cycle(path.join(" → ")));
        }
    }
    let sorted = toposort(&graph, None).expect("cycles were refused above");
    let names: Vec<String> = sorted.iter().rev().map(|n| n.to_string()).collect();
    let mut chosen = chosen;
    Ok(names
        .iter()
        .map(|n| chosen.remove(n).expect("every node is a chosen skill"))
        .collect())
}

/// `first → … → first` inside one strongly connected component.
fn cycle_through<'a>(
    graph: &DiGraphMap<&'a str, ()>,
    first: &'a str,
    members: &HashSet<&'a str>,
) -> Vec<&'a str> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([first]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<&str> = graph
            .neighbors(node)
            .filter(|n| members.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == first {
                let mut path = vec![node];
                let mut at = node;
                while at != first {
                    at = came_from[at];
                    path.push(at);
                }
                path.reverse();
                path.push(first);
                return path;
            }
            if n != first && !came_from.contains_key(n) {
                came_from.insert(n, node);
                queue.push_back(n);
            }
        }
    }
    unreachable!("a strongly connected component with a cycle leads back to its first node")
}

/// `conflicts-with`, both ways, between the skills to install, and between
/// them and the installed skills that stay.
pub fn check_conflicts(steps: &[Step], installed: &[Installed]) -> Result<(), ResolveError> {
    let planned: BTreeMap<&str, &Step> = steps.iter().map(|s| (s.name.as_str(), s)).collect();
    let staying: Vec<&Installed> = installed
        .iter()
        .filter(|i| !planned.contains_key(i.name.as_str()))
        .collect();
    for step in steps.iter().filter(|s| !s.keep) {
        for other in &step.release.conflicts_with {
            if planned.contains_key(other.as_str()) {
                return Err(ResolveError::Conflict {
                    skill: step.name.clone(),
                    other: other.clone(),
                    installed: false,
                });
            }
            if staying.iter().any(|i| i.name == *other) {
                return Err(ResolveError::Conflict {
                    skill: step.name.clone(),
                    other: other.clone(),
                    installed: true,
                });
            }
        }
        if let Some(i) = staying
            .iter()
            .find(|i| i.release.conflicts_with.contains(&step.name))
        {
            return Err(ResolveError::Conflict {
                skill: format!("{} (installed)", i.name),
                other: step.name.clone(),
                installed: false,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `name version deps…` lines; deps are `name@req`, `!name` a conflict.
    struct Memory(BTreeMap<(String, Version), Release>);

    impl Memory {
        fn new(lines: &[&str]) -> Memory {
            let mut releases = BTreeMap::new();
            for line in lines {
                let mut words = line.split_whitespace();
                let name = words.next().unwrap().to_string();
                let version: Version = words.next().unwrap().parse().unwrap();
                let (conflicts, deps): (Vec<&str>, Vec<&str>) =
                    words.partition(|w| w.starts_with('!'));
                let release = Release {
                    version: version.clone(),
                    dependencies: deps.iter().map(|d| dep(d)).collect(),
                    conflicts_with: conflicts.iter().map(|c| c[1..].to_string()).collect(),
                };
                releases.insert((name, version), release);
            }
            Memory(releases)
        }
    }

    impl Catalog for Memory {
        fn versions(&mut self, name: &str) -> anyhow::Result<Vec<Version>> {
            Ok(self
                .0
                .keys()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect())
        }
        fn release(&mut self, name: &str, version: &Version) -> anyhow::Result<Release> {
            Ok(self.0[&(name.to_string(), version.clone())].clone())
        }
    }

    fn dep(text: &str) -> Dependency {
        let (name, req) = text.split_once('@').unwrap();
        Dependency {
            name: name.into(),
            req: req.parse().unwrap(),
        }
    }

    fn root(name: &str) -> Request {
        Request {
            name: name.into(),
            req: VersionReq::STAR,
        }
    }

    fn plan(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| {
                format!(
                    "{}@{}{}",
                    s.name,
                    s.release.version,
                    if s.keep { "=" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn a_compatible_diamond_takes_the_highest_shared_version_dependencies_first() {
        let mut catalog = Memory::new(&[
            "app 1.0.0 left@^1 right@^1",
            "left 1.0.0 base@^1.1",
            "right 1.0.0 base@>=1.0,<1.3",
            "base 1.0.0",
            "base 1.2.5",
            "base 1.3.0",
            "base 2.0.0",
        ]);
        let steps = resolve(&[root("app")], &[], &mut catalog).unwrap();
        let names = plan(&steps);
        assert_eq!(names.len(), 4);
        assert_eq!(names[0], "base@1.2.5");
        assert_eq!(names[3], "app@1.0.0");
    }

    #[test]
    fn an_incompatible_diamond_names_both_requirers() {
        let mut catalog = Memory::new(&[
            "app 1.0.0 left@^1 right@^1",
            "left 1.0.0 base@^1",
            "right 1.0.0 base@^2",
            "base 1.4.0",
            "base 2.1.0",
        ]);
        let err = resolve(&[root("app")], &[], &mut catalog)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no version of `base`"), "{err}");
        assert!(
            err.contains("left v1.0.0 needs ^1") && err.contains("right v1.0.0 needs ^2"),
            "{err}"
        );
        assert!(err.contains("available: 1.4.0, 2.1.0"), "{err}");
    }

    #[test]
    fn an_older_release_is_tried_when_the_newest_cannot_fit() {
        let mut catalog = Memory::new(&[
            "app 1.0.0 left@^1 right@^1",
            "left 1.0.0 base@^1",
            "right 1.0.0 base@^1",
            "right 1.1.0 base@^2",
            "base 1.4.0",
            "base 2.0.0",
        ]);
        let steps = resolve(&[root("app")], &[], &mut catalog).unwrap();
        let names = plan(&steps);
        assert!(names.contains(&"right@1.0.0".to_string()), "{names:?}");
        assert!(names.contains(&"base@1.4.0".to_string()), "{names:?}");
    }

    #[test]
    fn cycles_are_named_in_order() {
        let mut catalog = Memory::new(&["a 1.0.0 b@^1", "b 1.0.0 c@^1", "c 1.0.0 a@^1"]);
        let err = resolve(&[root("a")], &[], &mut catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a v1.0.0 → b v1.0.0 → c v1.0.0 → a v1.0.0"),
            "{err}"
        );
        let mut selfish = Memory::new(&["a 1.0.0 a@^1"]);
        let err = resolve(&[root("a")], &[], &mut selfish)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a v1.0.0 → a v1.0.0"), "{err}");
    }

    #[test]
    fn installed_skills_are_kept_when_they_fit_and_their_needs_count() {
        let mut catalog = Memory::new(&[
            "app 1.0.0 base@^1",
            "base 1.0.0",
            "base 1.5.0",
            "base 2.0.0",
        ]);
        let base = Installed {
            name: "base".into(),
            release: Release {
                version: "1.0.0".parse().unwrap(),
                dependencies: vec![],
                conflicts_with: vec![],
            },
        };
        let steps = resolve(&[root("app")], std::slice::from_ref(&base), &mut catalog).unwrap();
        assert_eq!(plan(&steps), ["base@1.0.0=", "app@1.0.0"]);

        // An installed skill that needs base ^1 stops base moving to 2.0.0.
        let user = Installed {
            name: "user".into(),
            release: Release {
                version: "3.0.0".parse().unwrap(),
                dependencies: vec![dep("base@^1")],
                conflicts_with: vec![],
            },
        };
        let err = resolve(
            &[Request {
                name: "base".into(),
                req: "^2".parse().unwrap(),
            }],
            &[base, user],
            &mut catalog,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("user v3.0.0 (installed) needs ^1"), "{err}");
    }

    #[test]
    fn conflicts_are_refused_both_ways() {
        let mut catalog = Memory::new(&["fast 1.0.0 !slow", "slow 1.0.0", "calm 1.0.0"]);
        let slow = Installed {
            name: "slow".into(),
            release: Release {
                version: "1.0.0".parse().unwrap(),
                dependencies: vec![],
                conflicts_with: vec!["calm".into()],
            },
        };
        let steps = resolve(&[root("fast")], &[], &mut catalog).unwrap();
        let err = check_conflicts(&steps, std::slice::from_ref(&slow))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fast conflicts with slow (installed)"),
            "{err}"
        );
        let steps = resolve(&[root("calm")], &[], &mut catalog).unwrap();
        let err = check_conflicts(&steps, &[slow]).unwrap_err().to_string();
        assert!(
            err.contains("slow (installed) conflicts with calm"),
            "{err}"
        );
        let steps = resolve(&[root("fast"), root("slow")], &[], &mut catalog).unwrap();
        assert!(check_conflicts(&steps, &[]).is_err());
    }
}

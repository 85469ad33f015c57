//! Checks across the skills given together: dependency cycles and versions,
//! mixin parents (present, acyclic, at most three levels), and `conflicts-with`
//! across each skill's resolved chain. Also resolves a skill's capability set
//! after mixins.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use crate::capabilities::CapabilityDecl;
use crate::manifest::diagnostic::Reporter;
use crate::manifest::{Code, Diagnostic, Mode, SkillManifest};

/// Levels of a mixin chain, the skill included: skill → parent → grandparent.
pub const MAX_MIXIN_LEVELS: usize = 3;

/// Skills known by name, for resolving references between them.
pub struct SkillSet<'a> {
    skills: Vec<&'a SkillManifest>,
    by_name: HashMap<&'a str, usize>,
}

impl<'a> SkillSet<'a> {
    pub fn new(skills: Vec<&'a SkillManifest>) -> SkillSet<'a> {
        let mut by_name = HashMap::new();
        for (i, skill) in skills.iter().enumerate() {
            by_name.entry(skill.name.as_str()).or_insert(i);
        }
        SkillSet { skills, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&'a SkillManifest> {
        self.by_name.get(name).map(|&i| self.skills[i])
    }

    fn edges(&self, of: impl Fn(&'a SkillManifest) -> Vec<&'a str>) -> DiGraphMap<usize, ()> {
        let mut graph = DiGraphMap::new();
        for (i, skill) in self.skills.iter().enumerate() {
            graph.add_node(i);
            for target in of(skill) {
                if let Some(&j) = self.by_name.get(target) {
                    graph.add_edge(i, j, ());
                }
            }
        }
        graph
    }

    /// Mixin ancestors, nearest first, each once.
    pub fn ancestors(&self, skill: &'a SkillManifest) -> Vec<&'a SkillManifest> {
        self.reachable(skill, |s| {
            s.ext.parents.iter().map(String::as_str).collect()
        })
    }

    /// Skills reachable from `skill` (excluding it) by following `links`,
    /// breadth first, each once.
    fn reachable(
        &self,
        skill: &'a SkillManifest,
        links: impl Fn(&'a SkillManifest) -> Vec<&'a str>,
    ) -> Vec<&'a SkillManifest> {
        let mut seen: HashSet<&str> = HashSet::from([skill.name.as_str()]);
        let mut out = Vec::new();
        let mut queue: VecDeque<&str> = links(skill).into();
        while let Some(name) = queue.pop_front() {
            if let Some(found) = self.get(name).filter(|f| seen.insert(f.name.as_str())) {
                out.push(found);
                queue.extend(links(found));
            }
        }
        out
    }

    /// The capability set a skill runs with: its own plus its ancestors'.
    pub fn resolved_capabilities(&self, skill: &'a SkillManifest) -> BTreeSet<CapabilityDecl> {
        std::iter::once(skill)
            .chain(self.ancestors(skill))
            .flat_map(|s| s.ext.capabilities.iter().cloned())
            .collect()
    }

    /// The skill, its mixin ancestors and its dependencies, transitively.
    fn chain(&self, skill: &'a SkillManifest) -> Vec<&'a SkillManifest> {
        let links = |s: &'a SkillManifest| {
            let parents = s.ext.parents.iter().map(String::as_str);
            parents
                .chain(s.ext.dependencies.iter().map(|d| d.name.as_str()))
                .collect()
        };
        std::iter::once(skill)
            .chain(self.reachable(skill, links))
            .collect()
    }
}

pub fn check(set: &SkillSet<'_>, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let reporter = |skill: &SkillManifest| Reporter::new(mode, skill.path.clone());

    let mut seen: HashMap<&str, &SkillManifest> = HashMap::new();
    for &skill in &set.skills {
        if let Some(first) = seen.insert(&skill.name, skill) {
            let mut r = reporter(skill);
            r.report(
                Code::DuplicateSkill,
                Some(skill.pos("name")),
                format!(
                    "`{}` is also the name of {}",
                    skill.name,
                    first.path.display()
                ),
                Some("skill names must be unique within a repository".into()),
            );
            out.append(&mut r.diagnostics);
        }
    }

    for &skill in &set.skills {
        let mut r = reporter(skill);
        for dep in &skill.ext.dependencies {
            if let Some(found) = set.get(&dep.name)
                && let Some(version) = &found.ext.version
                && !dep.req.matches(version)
            {
                r.report(
                    Code::DependencyUnsatisfied,
                    Some(skill.pos("metadata.dependencies")),
                    format!(
                        "`{}` requires `{}@{}`, but {} is version {version}",
                        skill.name,
                        dep.name,
                        dep.req,
                        found.path.display()
                    ),
                    Some(format!("relax the requirement or update `{}`", dep.name)),
                );
            }
        }
        for parent in &skill.ext.parents {
            if set.get(parent).is_none() {
                r.report(
                    Code::ParentMissing,
                    Some(skill.pos("metadata.parents")),
                    format!("mixin parent `{parent}` is not among the skills given"),
                    Some(
                        "validate the parent together with this skill (e.g. the repository root)"
                            .into(),
                    ),
                );
            }
        }
        out.append(&mut r.diagnostics);
    }

    let dependencies = set.edges(|s| s.ext.dependencies.iter().map(|d| d.name.as_str()).collect());
    report_cycles(
        set,
        &dependencies,
        Code::DependencyCycle,
        "metadata.dependencies",
        "depend on each other",
        mode,
        &mut out,
    );
    let parents = set.edges(|s| s.ext.parents.iter().map(String::as_str).collect());
    let in_parent_cycle = report_cycles(
        set,
        &parents,
        Code::ParentCycle,
        "metadata.parents",
        "are each other's mixin parents",
        mode,
        &mut out,
    );

    // Walking every skill's chain is only worth it when something can conflict.
    let any_conflicts = set.skills.iter().any(|s| !s.ext.conflicts_with.is_empty());
    let too_deep = too_deep(&parents, &in_parent_cycle, set.skills.len());
    for (i, &skill) in set.skills.iter().enumerate() {
        if in_parent_cycle.contains(&i) {
            continue;
        }
        if too_deep.contains(&i) {
            let mut r = reporter(skill);
            r.report(
                Code::ParentTooDeep,
                Some(skill.pos("metadata.parents")),
                format!(
                    "`{}` has a mixin chain of more than {MAX_MIXIN_LEVELS} levels (the skill, its parent and its grandparent)",
                    skill.name
                ),
                Some("flatten the chain: inherit from fewer levels of parents".into()),
            );
            out.append(&mut r.diagnostics);
        }
        if any_conflicts {
            check_conflicts(set, skill, mode, &mut out);
        }
    }
    out
}

/// Skills in chains of more than [`MAX_MIXIN_LEVELS`] levels, that is
/// with `MAX_MIXIN_LEVELS` or more levels of parents above them.
/// Level by level (a skill is at depth k+1 when one of its parents is at
/// depth k), so the work is linear in the edges however wide the graph is.
/// Cycle members are left out; their cycle is reported instead.
fn too_deep(
    parents: &DiGraphMap<usize, ()>,
    in_cycle: &BTreeSet<usize>,
    count: usize,
) -> BTreeSet<usize> {
    let mut at_depth: BTreeSet<usize> = (0..count).filter(|i| !in_cycle.contains(i)).collect();
    for _ in 0..MAX_MIXIN_LEVELS {
        at_depth = at_depth
            .iter()
            .flat_map(|&parent| parents.neighbors_directed(parent, petgraph::Direction::Incoming))
            .filter(|child| !in_cycle.contains(child))
            .collect();
    }
    at_depth
}

/// Reports each cycle once, on its alphabetically first member; returns the
/// nodes in cycles.
fn report_cycles(
    set: &SkillSet<'_>,
    graph: &DiGraphMap<usize, ()>,
    code: Code,
    field: &str,
    verb: &str,
    mode: Mode,
    out: &mut Vec<Diagnostic>,
) -> BTreeSet<usize> {
    let mut in_cycle = BTreeSet::new();
    for component in tarjan_scc(graph) {
        let cyclic = component.len() > 1 || graph.contains_edge(component[0], component[0]);
        if !cyclic {
            continue;
        }
        in_cycle.extend(component.iter().copied());
        let start = *component
            .iter()
            .min_by_key(|&&i| &set.skills[i].name)
            .expect("non-empty");
        let path = cycle_path(graph, &component, start);
        let names: Vec<&str> = path.iter().map(|&i| set.skills[i].name.as_str()).collect();
        let skill = set.skills[start];
        let mut r = Reporter::new(mode, skill.path.clone());
        r.report(
            code,
            Some(skill.pos(field)),
            format!("these skills {verb} in a cycle: {}", names.join(" -> ")),
            Some("break the cycle by removing one of these references".into()),
        );
        out.append(&mut r.diagnostics);
    }
    in_cycle
}

/// A path from `start` back to itself inside one strongly connected component.
fn cycle_path(graph: &DiGraphMap<usize, ()>, component: &[usize], start: usize) -> Vec<usize> {
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<usize> = graph
            .neighbors(node)
            .filter(|n| component.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == start {
                let mut path = vec![start];
                let mut at = node;
                while at != start {
                    path.push(at);
                    at = came_from[&at];
                }
                path.push(start);
                let last = path.len() - 1;
                path[1..last].reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(n) {
                e.insert(node);
                queue.push_back(n);
            }
        }
    }
    vec![start, start]
}

fn check_conflicts(
    set: &SkillSet<'_>,
    skill: &SkillManifest,
    mode: Mode,
    out: &mut Vec<Diagnostic>,
) {
    let chain = set.chain(skill);
    let mut r = Reporter::new(mode, skill.path.clone());
    for member in &chain {
        for other in &member.ext.conflicts_with {
            if other != &member.name && chain.iter().any(|c| &c.name == other) {
                let via = if member.name == skill.name {
                    ""
                } else {
                    " (pulled in through mixins or dependencies)"
                };
                r.report(Code::ConflictInChain, Some(skill.pos("metadata.conflicts-with")), format!("`{}`{via} conflicts with `{other}`, and both are in the resolved chain of `{}`", member.name, skill.name), Some(format!("drop the dependency or mixin that brings in `{other}` or `{}`", member.name)));
            }
        }
    }
    out.append(&mut r.diagnostics);
}

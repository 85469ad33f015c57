//! `[[registry]]` tables in the home's `config.toml` (`name`, `kind`,
//! `url`). With none written the defaults apply; `registry add` and
//! `remove` write the whole list, keeping the rest of the file as it was.

use std::fmt;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use skill_runtime::Home;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use crate::install::source::WELL_KNOWN_PREFIX;

/// How a registry is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A git repository: its `skills/index.json` when `publish` wrote one,
    /// and the skills the installer finds in its tree.
    Git,
    /// A web site's `/.well-known/skills/index.json`, as `npx skills` reads it.
    WellKnown,
    /// The skills directory's search API (`GET /api/search?q=`), with
    /// install counts.
    SkillsSh,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Git => "git",
            Kind::WellKnown => "well-known",
            Kind::SkillsSh => "skills-sh",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        [Kind::Git, Kind::WellKnown, Kind::SkillsSh]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registry {
    pub name: String,
    pub kind: Kind,
    /// For `git`, what `install` takes: `owner/repo` or a git URL; for the
    /// others, the site's http(s) URL.
    pub url: String,
}

impl Registry {
    /// What `install` takes for the skills of this registry (a skills
    /// directory names each skill's own repository instead).
    pub fn source(&self) -> String {
        match self.kind {
            Kind::WellKnown => format!("{WELL_KNOWN_PREFIX}{}", self.url),
            Kind::Git | Kind::SkillsSh => self.url.clone(),
        }
    }
}

/// Where the skills directory answers; `SKILLS_API_URL` moves it, as it
/// moves `npx skills find`.
fn skills_directory() -> String {
    std::env::var("SKILLS_API_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "https://skills.sh".into())
}

/// The registries a home starts with.
pub fn defaults() -> Vec<Registry> {
    vec![
        Registry {
            name: "anthropics".into(),
            kind: Kind::Git,
            url: "anthropics/skills".into(),
        },
        Registry {
            name: "composio".into(),
            kind: Kind::Git,
            url: "ComposioHQ/awesome-claude-skills".into(),
        },
        Registry {
            name: "skills-sh".into(),
            kind: Kind::SkillsSh,
            url: skills_directory(),
        },
    ]
}

/// The home's registries, in the order written; the defaults when
/// `config.toml` has no `registry` key.
pub fn read(home: &Home) -> Result<Vec<Registry>> {
    let (doc, path) = document(home)?;
    let Some(item) = doc.get("registry") else {
        return Ok(defaults());
    };
    let wrong = |what: String| {
        anyhow::anyhow!(
            "{}: {what}; each [[registry]] needs `name`, `kind` (git, well-known or skills-sh) and `url`",
            path.display()
        )
    };
    let tables: Vec<&Table> = match item {
        Item::ArrayOfTables(array) => array.iter().collect(),
        Item::Value(toml_edit::Value::Array(a)) if a.is_empty() => Vec::new(),
        _ => return Err(wrong("`registry` is not a list of tables".into())),
    };
    let mut registries: Vec<Registry> = Vec::new();
    for (i, table) in tables.into_iter().enumerate() {
        let field = |key: &str| {
            table
                .get(key)
                .and_then(Item::as_str)
                .map(str::to_string)
                .ok_or_else(|| wrong(format!("registry {} has no `{key}` string", i + 1)))
        };
        let name = field("name")?;
        check_name(&name).map_err(|e| wrong(e.to_string()))?;
        let kind = field("kind")?;
        let Some(kind) = Kind::parse(&kind) else {
            return Err(wrong(format!("`{name}` has the unknown kind `{kind}`")));
        };
        let url = field("url")?;
        check_url(kind, &url).map_err(|e| wrong(format!("`{name}`: {e}")))?;
        if registries.iter().any(|r| r.name == name) {
            return Err(wrong(format!("`{name}` is listed twice")));
        }
        registries.push(Registry { name, kind, url });
    }
    Ok(registries)
}

/// Adds a registry (refusing a name already listed); the caller holds the
/// home's write lock.
pub fn add(home: &Home, registry: Registry) -> Result<()> {
    check_name(&registry.name)?;
    check_url(registry.kind, &registry.url)?;
    let mut registries = read(home)?;
    if let Some(known) = registries.iter().find(|r| r.name == registry.name) {
        bail!(
            "a registry named `{}` is already listed ({}): remove it first, or choose another name",
            known.name,
            known.url
        );
    }
    registries.push(registry);
    write(home, &registries)
}

/// Removes a registry by name; whether it was listed.
pub fn remove(home: &Home, name: &str) -> Result<bool> {
    let mut registries = read(home)?;
    let before = registries.len();
    registries.retain(|r| r.name != name);
    if registries.len() == before {
        return Ok(false);
    }
    write(home, &registries)?;
    Ok(true)
}

fn write(home: &Home, registries: &[Registry]) -> Result<()> {
    let (mut doc, path) = document(home)?;
    doc.remove("registry");
    if registries.is_empty() {
        // An empty list, so the defaults do not come back.
        doc["registry"] = value(toml_edit::Array::new());
    } else {
        let mut array = ArrayOfTables::new();
        for r in registries {
            let mut table = Table::new();
            table["name"] = value(&r.name);
            table["kind"] = value(r.kind.as_str());
            table["url"] = value(&r.url);
            array.push(table);
        }
        doc["registry"] = Item::ArrayOfTables(array);
    }
    skill_runtime::atomic_file::write(&path, doc.to_string().as_bytes(), 0o644)
        .with_context(|| format!("could not write {}", path.display()))
}

fn document(home: &Home) -> Result<(DocumentMut, std::path::PathBuf)> {
    let path = home.config_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let doc = text.parse::<DocumentMut>().map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid TOML: {}",
            path.display(),
            e.to_string().trim_end()
        )
    })?;
    Ok((doc, path))
}

/// A registry's name becomes a file name under `cache/registries/`: the
/// skill-name rule.
pub fn check_name(name: &str) -> Result<()> {
    skill_runtime::manifest::skill_name::check(name)
        .with_context(|| format!("`{name}` cannot name a registry"))
}

fn check_url(kind: Kind, url: &str) -> Result<()> {
    if kind != Kind::Git {
        return crate::web::check_url(url).map(drop);
    }
    if url.is_empty() || url.starts_with('-') || url.chars().any(char::is_control) {
        bail!("`{}` is not a repository", url.escape_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_round_trips_and_keeps_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        std::fs::write(
            home.config_file(),
            "# the operator's words\n[bot]\nslug = \"night\"\n",
        )
        .unwrap();
        assert_eq!(read(&home).unwrap(), defaults());
        let own = Registry {
            name: "team".into(),
            kind: Kind::Git,
            url: "file:///srv/skills.git".into(),
        };
        add(&home, own.clone()).unwrap();
        assert!(add(&home, own.clone()).is_err());
        assert!(remove(&home, "anthropics").unwrap());
        assert!(!remove(&home, "anthropics").unwrap());
        let names: Vec<String> = read(&home).unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["composio", "skills-sh", "team"]);
        let text = std::fs::read_to_string(home.config_file()).unwrap();
        assert!(
            text.starts_with("# the operator's words\n[bot]\nslug = \"night\"\n"),
            "{text}"
        );
        for name in ["composio", "skills-sh", "team"] {
            remove(&home, name).unwrap();
        }
        assert!(read(&home).unwrap().is_empty());
    }

    #[test]
    fn names_and_shapes_are_checked() {
        assert!(check_name("../up").is_err());
        assert!(check_name("Team").is_err());
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        std::fs::write(home.config_file(), "registry = 3\n").unwrap();
        assert!(read(&home).unwrap_err().to_string().contains("not a list"));
        std::fs::write(
            home.config_file(),
            "[[registry]]\nname = \"x\"\nkind = \"ftp\"\nurl = \"u\"\n",
        )
        .unwrap();
        assert!(
            read(&home)
                .unwrap_err()
                .to_string()
                .contains("unknown kind")
        );
        std::fs::write(
            home.config_file(),
            "[[registry]]\nname = \"x\"\nkind = \"well-known\"\nurl = \"file:///etc\"\n",
        )
        .unwrap();
        assert!(read(&home).unwrap_err().to_string().contains("http"));
    }
}

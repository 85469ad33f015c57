//! What the browser shows and how keys change it, with no terminal in
//! sight: the query, the category tab, the ranked results (the same
//! [`search`] as `cargo skill search`), the selection and what the
//! operator asked for last.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::widgets::ListState;
use semver::Version;

use crate::registry::category;
use crate::registry::index::RegistryIndex;
use crate::registry::search::{Hit, search};

/// Results kept for the list: more than a screen holds, few enough to rank
/// on every key press.
const SHOWN: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
}

/// What the loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// Install `name` from `source` through `cargo skill install`.
    Install {
        source: String,
        name: String,
    },
    /// Fetch and show the full preview of the selection.
    Preview {
        source: String,
        name: String,
    },
}

/// A skill as installed here: its version, if any.
pub type Installed = HashMap<String, Option<String>>;

pub struct App<'a> {
    indexes: &'a [RegistryIndex],
    pub installed: Installed,
    pub query: String,
    pub focus: Focus,
    /// 0 is every category; then [`category::CATEGORIES`] in order.
    pub tab: usize,
    pub hits: Vec<Hit<'a>>,
    pub list: ListState,
    pub help: bool,
    /// A fetched preview: the skill it is for and its lines.
    pub detail: Option<(String, Vec<String>)>,
    /// One line at the bottom: what just happened.
    pub status: String,
}

impl<'a> App<'a> {
    pub fn new(indexes: &'a [RegistryIndex], installed: Installed) -> App<'a> {
        let mut app = App {
            indexes,
            installed,
            query: String::new(),
            focus: Focus::List,
            tab: 0,
            hits: Vec::new(),
            list: ListState::default(),
            help: false,
            detail: None,
            status: String::new(),
        };
        app.refresh();
        app
    }

    /// The tab titles: `all`, then each category.
    pub fn tabs() -> Vec<&'static str> {
        std::iter::once("all").chain(category::names()).collect()
    }

    pub fn category(&self) -> Option<&'static str> {
        self.tab.checked_sub(1).map(|i| category::CATEGORIES[i].0)
    }

    /// Ranks again after the query or the tab changed; the selection goes
    /// back to the top.
    fn refresh(&mut self) {
        self.hits = search(self.indexes, &self.query, self.category(), SHOWN);
        self.list.select((!self.hits.is_empty()).then_some(0));
        self.detail = None;
    }

    pub fn selected(&self) -> Option<&Hit<'a>> {
        self.list.selected().and_then(|i| self.hits.get(i))
    }

    /// `installed`, `update to X` or nothing, for a listing.
    pub fn install_state(&self, hit: &Hit<'_>) -> Option<String> {
        let installed = self.installed.get(&hit.listing.name)?;
        let newer = match (installed, &hit.listing.version) {
            (Some(have), Some(offered)) => match (Version::parse(have), Version::parse(offered)) {
                (Ok(have), Ok(offered)) => offered > have,
                _ => false,
            },
            _ => false,
        };
        Some(match (newer, &hit.listing.version) {
            (true, Some(v)) => format!("installed, update to {v}"),
            _ => "installed".to_string(),
        })
    }

    /// Applies one key; `height` is how many rows the list shows (for
    /// page moves).
    pub fn key(&mut self, key: KeyEvent, height: usize) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        if self.help {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                self.help = false;
            }
            return Action::None;
        }
        match self.focus {
            Focus::Search => self.search_key(key),
            Focus::List => self.list_key(key, height.max(1)),
        }
    }

    fn search_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Enter | KeyCode::Esc => self.focus = Focus::List,
            KeyCode::Backspace => {
                self.query.pop();
                self.refresh();
            }
            KeyCode::Char(c) if !c.is_control() && self.query.chars().count() < 200 => {
                self.query.push(c);
                self.refresh();
            }
            _ => {}
        }
        Action::None
    }

    fn list_key(&mut self, key: KeyEvent, height: usize) -> Action {
        let last = self.hits.len().saturating_sub(1);
        let at = self.list.selected().unwrap_or(0);
        let select = |app: &mut App<'_>, i: usize| {
            if !app.hits.is_empty() {
                app.list.select(Some(i.min(last)));
                app.detail = None;
            }
        };
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('/') => self.focus = Focus::Search,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Esc => self.detail = None,
            KeyCode::Down | KeyCode::Char('j') => select(self, at + 1),
            KeyCode::Up | KeyCode::Char('k') => select(self, at.saturating_sub(1)),
            KeyCode::PageDown => select(self, at + height),
            KeyCode::PageUp => select(self, at.saturating_sub(height)),
            KeyCode::Home | KeyCode::Char('g') => select(self, 0),
            KeyCode::End | KeyCode::Char('G') => select(self, last),
            KeyCode::Right | KeyCode::Tab | KeyCode::Char('l') => {
                self.tab = (self.tab + 1) % Self::tabs().len();
                self.refresh();
            }
            KeyCode::Left | KeyCode::BackTab | KeyCode::Char('h') => {
                let n = Self::tabs().len();
                self.tab = (self.tab + n - 1) % n;
                self.refresh();
            }
            KeyCode::Enter | KeyCode::Char('i') => {
                if let Some(hit) = self.selected() {
                    return Action::Install {
                        source: hit.sources[0].source.clone(),
                        name: hit.listing.name.clone(),
                    };
                }
            }
            KeyCode::Char('p') => {
                if let Some(hit) = self.selected() {
                    return Action::Preview {
                        source: hit.sources[0].source.clone(),
                        name: hit.listing.name.clone(),
                    };
                }
            }
            _ => {}
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::config::Kind;
    use crate::registry::index::{Listing, Signature};

    fn index() -> RegistryIndex {
        let listing = |name: &str, description: &str, category: Option<&str>| Listing {
            name: name.into(),
            description: description.into(),
            version: Some("1.2.0".into()),
            category: category.map(String::from),
            keywords: String::new(),
            path: name.into(),
            content: name.into(),
            signature: Signature::Unsigned,
            risk: None,
            source: None,
            installs: None,
        };
        RegistryIndex {
            registry: "team".into(),
            kind: Kind::Git,
            url: "acme/skills".into(),
            fetched_at: 0,
            commit: None,
            skills: vec![
                listing("pdf", "Read PDF files.", Some("documents")),
                listing("deploy", "Ship it.", Some("devops")),
                listing("forms", "Fill PDF forms.", Some("documents")),
            ],
        }
    }

    fn press(app: &mut App<'_>, code: KeyCode) -> Action {
        app.key(KeyEvent::new(code, KeyModifiers::NONE), 10)
    }

    #[test]
    fn typing_filters_moving_selects_and_enter_installs() {
        let indexes = [index()];
        let mut app = App::new(
            &indexes,
            Installed::from([("pdf".into(), Some("1.0.0".into()))]),
        );
        assert_eq!(app.hits.len(), 3);
        press(&mut app, KeyCode::Char('/'));
        for c in "pdf".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        assert_eq!(
            press(&mut app, KeyCode::Char('q')),
            Action::None,
            "q is typed"
        );
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.focus, Focus::List);
        let names: Vec<&str> = app.hits.iter().map(|h| h.listing.name.as_str()).collect();
        assert_eq!(names, ["pdf", "forms"]);
        assert_eq!(
            app.install_state(&app.hits[0]).as_deref(),
            Some("installed, update to 1.2.0")
        );
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down);
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            Action::Install {
                source: "acme/skills".into(),
                name: "forms".into()
            }
        );
        // The devops tab: nothing matches `pdf` there.
        for _ in 0..4 {
            press(&mut app, KeyCode::Right);
        }
        assert_eq!(app.category(), Some("devops"));
        assert!(app.hits.is_empty() && app.selected().is_none());
        assert_eq!(press(&mut app, KeyCode::Enter), Action::None);
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(
            press(&mut app, KeyCode::Char('q')),
            Action::None,
            "q closes the help"
        );
        assert_eq!(press(&mut app, KeyCode::Char('q')), Action::Quit);
        assert_eq!(
            app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 10),
            Action::Quit
        );
    }
}

//! Draws the browser: the search box, the category tabs, the results with
//! their badges, the selected skill's detail and a line of keys; `?`
//! lays the help over it. Everything from a registry goes through
//! [`printable`] first: a description cannot move the cursor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph, Tabs, Wrap};

use crate::browse::app::{App, Focus};
use crate::output::printable;
use crate::registry::search::Hit;

const HELP: &[(&str, &str)] = &[
    ("/", "search (Enter or Esc to leave the box)"),
    ("↑ ↓  j k", "move"),
    ("PgUp PgDn  g G", "page, first, last"),
    ("← →  Tab", "category"),
    (
        "Enter  i",
        "install (approval and scan as `cargo skill install`)",
    ),
    ("p", "full preview: files, capabilities, findings"),
    ("Esc", "back to the short detail"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// The list's height in rows, for page moves.
pub fn list_height(area: Rect) -> usize {
    let [_, _, body, _] = rows(area);
    body.height.saturating_sub(2) as usize
}

fn rows(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area)
}

pub fn draw(frame: &mut Frame<'_>, app: &mut App<'_>) {
    let [search, tabs, body, keys] = rows(frame.area());
    let focused = app.focus == Focus::Search;
    let border = if focused {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default()
    };
    let shown = format!("{} skills", app.hits.len());
    frame.render_widget(
        Paragraph::new(printable(&app.query)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(" search (/) ")
                .title_bottom(Line::from(format!(" {shown} ")).right_aligned()),
        ),
        search,
    );
    if focused {
        let x = search.x
            + 1
            + app
                .query
                .chars()
                .count()
                .min(search.width.saturating_sub(3) as usize) as u16;
        frame.set_cursor_position((x, search.y + 1));
    }
    draw_tabs(frame, app, tabs);
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body);
    draw_list(frame, app, list);
    draw_detail(frame, app, detail);
    let line = if app.status.is_empty() {
        "/ search  ←→ category  Enter install  p preview  ? help  q quit".to_string()
    } else {
        app.status.clone()
    };
    frame.render_widget(
        Paragraph::new(printable(&line)).style(Style::default().add_modifier(Modifier::DIM)),
        keys,
    );
    if app.help {
        draw_help(frame);
    }
}

/// As many tabs as fit, the selected one among them.
fn draw_tabs(frame: &mut Frame<'_>, app: &App<'_>, area: Rect) {
    let titles = App::tabs();
    let width = |t: &str| t.chars().count() + 3;
    let mut first = 0;
    while first < app.tab
        && titles[first..=app.tab]
            .iter()
            .map(|t| width(t))
            .sum::<usize>()
            > area.width as usize
    {
        first += 1;
    }
    let mut shown = Vec::new();
    let mut used = 0;
    for title in &titles[first..] {
        used += width(title);
        if used > area.width as usize {
            break;
        }
        shown.push(*title);
    }
    frame.render_widget(
        Tabs::new(shown)
            .select(app.tab - first)
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        area,
    );
}

/// `✓` verified, `!` flagged, `●` installed, `↑` an update.
fn marks(app: &App<'_>, hit: &Hit<'_>) -> String {
    let mut marks = String::new();
    if hit.listing.signature.tier() == "verified" {
        marks.push('✓');
    }
    if hit.flagged {
        marks.push('!');
    }
    match app.install_state(hit) {
        Some(state) if state.contains("update") => marks.push('↑'),
        Some(_) => marks.push('●'),
        None => {}
    }
    marks
}

fn draw_list(frame: &mut Frame<'_>, app: &mut App<'_>, area: Rect) {
    let items: Vec<ListItem<'_>> = app
        .hits
        .iter()
        .map(|hit| {
            let style = if hit.flagged {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            ListItem::new(Line::from(vec![
                Span::styled(printable(&hit.listing.name), style),
                Span::raw(" "),
                Span::styled(marks(app, hit), Style::default().fg(Color::Cyan)),
            ]))
        })
        .collect();
    let empty = items.is_empty();
    let list = List::new(items)
        .block(Block::default().borders(Borders::ALL).title(" skills "))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    frame.render_stateful_widget(list, area, &mut app.list);
    if empty {
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 1,
            width: area.width.saturating_sub(4),
            height: 1,
        };
        frame.render_widget(Paragraph::new("no skills match"), inner);
    }
}

fn draw_detail(frame: &mut Frame<'_>, app: &App<'_>, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" detail ");
    let Some(hit) = app.selected() else {
        frame.render_widget(block, area);
        return;
    };
    let lines: Vec<Line<'_>> = match &app.detail {
        Some((name, lines)) if *name == hit.listing.name => {
            lines.iter().map(|l| Line::from(printable(l))).collect()
        }
        _ => summary(app, hit),
    };
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// What the index says of a skill: enough to choose, before fetching it.
fn summary<'t>(app: &App<'_>, hit: &Hit<'_>) -> Vec<Line<'t>> {
    let l = hit.listing;
    let field = |key: &str, value: String| {
        Line::from(vec![
            Span::styled(
                format!("{key:<10}"),
                Style::default().add_modifier(Modifier::DIM),
            ),
            Span::raw(printable(&value)),
        ])
    };
    let mut lines = vec![
        Line::from(Span::styled(
            printable(&format!(
                "{} {}",
                l.name,
                l.version.as_deref().unwrap_or("unversioned")
            )),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(printable(&l.description)),
        Line::from(""),
    ];
    let registries: Vec<&str> = hit.sources.iter().map(|s| s.registry).collect();
    lines.push(field("registry", registries.join(", ")));
    lines.push(field("source", hit.sources[0].source.clone()));
    if !hit.sources[0].path.is_empty() {
        lines.push(field("folder", hit.sources[0].path.to_string()));
    }
    lines.push(field(
        "category",
        l.category.clone().unwrap_or_else(|| "none".into()),
    ));
    let signature = match &l.signature {
        crate::registry::index::Signature::Trusted { key_id } => format!("signed by {key_id}"),
        crate::registry::index::Signature::UnknownKey { key_id } => {
            format!("signed by {key_id} (not trusted here)")
        }
        crate::registry::index::Signature::Invalid { .. } => "signature does not check".into(),
        crate::registry::index::Signature::Unsigned => "unsigned".into(),
        crate::registry::index::Signature::NotChecked => "not checked yet (p)".into(),
    };
    lines.push(field(
        "tier",
        format!("{} · {signature}", l.signature.tier()),
    ));
    let scan = match (&l.risk, hit.flagged, l.content.is_empty()) {
        (_, _, true) => "not scanned yet (p)".to_string(),
        (Some(risk), true, _) => {
            format!("FLAGGED: {risk} risk (install refuses it unless allowed)")
        }
        (Some(risk), false, _) => format!("{risk} risk"),
        (None, _, _) => "clean".to_string(),
    };
    lines.push(field("scan", scan));
    if let Some(n) = hit.installs {
        lines.push(field("installs", n.to_string()));
    }
    if let Some(state) = app.install_state(hit) {
        lines.push(field("here", state));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Enter install · p full preview",
        Style::default().add_modifier(Modifier::DIM),
    )));
    lines
}

fn draw_help(frame: &mut Frame<'_>) {
    let area = frame.area();
    let height = (HELP.len() as u16 + 2).min(area.height);
    let width = 70.min(area.width);
    let at = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<16}"), Style::default().fg(Color::Yellow)),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, at);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" keys (Esc closes) "),
        ),
        at,
    );
}

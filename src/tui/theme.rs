//! Colours, or none: with `NO_COLOR` or `--no-color` every style is monochrome and selection and
//! risk are shown by bold, reverse and underline instead.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    /// Dots instead of braille in charts, for fonts without braille.
    pub ascii: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            color: true,
            ascii: false,
        }
    }
}

/// Distinct line colours for models on charts, in leaderboard order.
const SERIES: [Color; 9] = [
    Color::Gray,
    Color::Magenta,
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::LightBlue,
    Color::LightRed,
    Color::LightGreen,
    Color::LightMagenta,
];

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    pub fn text(&self) -> Style {
        Style::new()
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn tab_active(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn chosen(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    /// The style of a risk tier (0 = most urgent).
    pub fn tier(&self, i: usize) -> Style {
        match i {
            0 => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            1 => self.fg(Color::Yellow),
            _ => self.fg(Color::Cyan),
        }
    }
    pub fn series(&self, i: usize) -> Style {
        self.fg(SERIES[i % SERIES.len()])
    }
    /// A correlation cell: a diverging palette in colour; in monochrome strong values are bold
    /// and weak ones dim, and the printed value carries the sign either way.
    pub fn corr(&self, r: Option<f64>) -> Style {
        let Some(r) = r else { return self.dim() };
        let a = r.abs();
        if self.color {
            let bg = match (r >= 0.0, a) {
                (_, a) if a < 0.2 => Color::Reset,
                (true, a) if a < 0.5 => Color::Indexed(174),
                (true, a) if a < 0.8 => Color::Indexed(167),
                (true, _) => Color::Indexed(160),
                (false, a) if a < 0.5 => Color::Indexed(110),
                (false, a) if a < 0.8 => Color::Indexed(68),
                (false, _) => Color::Indexed(25),
            };
            let fg = if a >= 0.5 { Color::White } else { Color::Reset };
            Style::new().bg(bg).fg(fg)
        } else if a >= 0.7 {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else if a >= 0.4 {
            Style::new().add_modifier(Modifier::BOLD)
        } else if a < 0.1 {
            Style::new().add_modifier(Modifier::DIM)
        } else {
            Style::new()
        }
    }
}

//! Colours, or none: with `NO_COLOR` or `--no-color` every style is monochrome and selection and
//! risk are shown by bold, reverse and underline instead. With `--ascii` every box is drawn
//! in `+ - |` and, as a last pass over the frame, every other symbol is swapped for an ASCII
//! look-alike ([`asciify`]), so no view can put a non-ASCII character on screen.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use ratatui::widgets::Block;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    /// Only ASCII on screen (borders, chart marks, arrows), for fonts and terminals without
    /// box drawing or braille.
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

/// Box borders in ASCII.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// One character per model on charts where colour cannot tell the curves apart (monochrome or
/// ASCII), in leaderboard order. None of them is the K marker's or the baseline's.
pub const MODEL_MARKS: [char; 9] = ['*', 'o', '+', 'x', '~', '=', '%', '@', '&'];

impl Theme {
    /// A bordered box in the theme's border set. Every box is made here (clippy.toml forbids
    /// `Block::bordered` elsewhere), so no view can forget `--ascii`.
    #[allow(clippy::disallowed_methods)]
    pub fn block(&self) -> Block<'static> {
        let b = Block::bordered();
        if self.ascii {
            b.border_set(ASCII_BORDER)
        } else {
            b
        }
    }
    /// Whether the models' curves are told apart by colour (braille lines) rather than by a
    /// character per model.
    pub fn colour_curves(&self) -> bool {
        self.color && !self.ascii
    }
    /// The current-K marker on charts: a style no curve uses, so it never blends in.
    pub fn k_mark(&self) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED);
        if self.color { s.fg(Color::Red) } else { s }
    }
    /// The sort arrow of a column: ▼ always means largest (or Z) first, ▲ smallest (or A).
    pub fn sort_arrow(&self, desc: bool) -> &'static str {
        match (desc, self.ascii) {
            (true, false) => "▼",
            (false, false) => "▲",
            (true, true) => "v",
            (false, true) => "^",
        }
    }
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

/// The ASCII stand-in of a non-ASCII symbol the views draw, or None for one without a known
/// stand-in.
pub fn ascii_of(sym: &str) -> Option<&'static str> {
    let mut it = sym.chars();
    let (Some(c), None) = (it.next(), it.next()) else {
        // A grapheme of several characters (an accent, a flag): none of ours.
        return None;
    };
    Some(match c {
        // Box drawing: lines and corners, light, heavy, double, dashed and rounded.
        '─' | '━' | '═' | '┄' | '┅' | '┈' | '┉' | '╌' | '╍' => "-",
        '│' | '┃' | '║' | '┆' | '┇' | '┊' | '┋' | '╎' | '╏' => "|",
        '\u{250c}'..='\u{254b}' | '\u{2550}'..='\u{256c}' | '╭' | '╮' | '╯' | '╰' => "+",
        // Braille, blocks and chart dots: a point.
        '\u{2800}'..='\u{28ff}' | '•' | '●' | '∙' => ".",
        // Eighths of a bar (Labels): rounded to the nearest whole cell.
        '▏' | '▎' | '▍' => " ",
        '█' | '▓' | '▒' | '░' | '▄' | '▀' | '▌' | '▐' | '▋' | '▊' | '▉' => {
            "#"
        }
        '▼' | '↓' | '▾' => "v",
        '▲' | '↑' | '▴' => "^",
        '▶' | '→' | '▸' | '›' | '»' => ">",
        '◀' | '←' | '◂' | '‹' | '«' => "<",
        '·' | '…' => ".",
        '–' | '—' | '−' | '‐' => "-",
        '≤' => "<",
        '≥' => ">",
        '≈' | '∼' => "~",
        '±' => "+",
        '×' | '✗' | '✘' => "x",
        '✓' | '✔' => "v",
        '‘' | '’' | '′' => "'",
        '“' | '”' | '″' => "\"",
        _ => return None,
    })
}

/// Every cell of `buf` in ASCII: known symbols become their stand-in, anything else (a Korean
/// word under `--ascii`) `?`. The last pass of a frame under `--ascii`.
pub fn asciify(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let new = ascii_of(sym).unwrap_or("?");
        cell.set_symbol(new);
    }
}

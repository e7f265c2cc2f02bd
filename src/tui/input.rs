//! The one-line input box: what it asks for, the text typed so far, and editing as at a shell
//! prompt (Left/Right, Home/End and Ctrl-A/E move; Backspace/Delete, Ctrl-U, Ctrl-K and Ctrl-W
//! delete). A proposed text (the export's default path) starts selected: typing replaces it.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Search,
    K,
    Budget,
    ExportPath,
    AddUser,
    CampaignName,
    CampaignHoldout,
    ReadoutData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// The cursor, in characters from the start.
    pub cursor: usize,
    /// The whole text is selected: typing replaces it, a movement keeps it.
    pub selected: bool,
}

impl Input {
    /// An empty box, or one proposing `text` (selected, the cursor at its end).
    pub fn new(kind: InputKind, text: String) -> Input {
        let cursor = text.chars().count();
        Input {
            kind,
            selected: !text.is_empty(),
            text,
            cursor,
        }
    }

    fn byte(&self, char_pos: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_pos)
            .map_or(self.text.len(), |(b, _)| b)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    /// Delete the characters from `from` to the cursor (character positions).
    fn delete_back_to(&mut self, from: usize) {
        let (a, b) = (self.byte(from), self.byte(self.cursor));
        self.text.replace_range(a..b, "");
        self.cursor = from;
    }

    /// One editing key; `false` when the key is not an editing key.
    pub fn key(&mut self, code: KeyCode, mods: KeyModifiers) -> bool {
        let ctrl = mods.contains(KeyModifiers::CONTROL);
        let was_selected = std::mem::take(&mut self.selected);
        match code {
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.len(),
            KeyCode::Char('u') if ctrl => self.delete_back_to(0),
            KeyCode::Char('k') if ctrl => {
                let b = self.byte(self.cursor);
                self.text.truncate(b);
            }
            KeyCode::Char('w') if ctrl => {
                // Back over spaces, then over the word (a path's `/` ends a word too).
                let chars: Vec<char> = self.text.chars().collect();
                let mut from = self.cursor;
                while from > 0 && chars[from - 1] == ' ' {
                    from -= 1;
                }
                while from > 0 && !matches!(chars[from - 1], ' ' | '/') {
                    from -= 1;
                }
                self.delete_back_to(from);
            }
            KeyCode::Char(_) if ctrl => {
                self.selected = was_selected;
                return false;
            }
            KeyCode::Char(c) => {
                if was_selected {
                    self.text.clear();
                    self.cursor = 0;
                }
                let b = self.byte(self.cursor);
                self.text.insert(b, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if was_selected => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.delete_back_to(self.cursor - 1);
                }
            }
            KeyCode::Delete => {
                if self.cursor < self.len() {
                    let (a, b) = (self.byte(self.cursor), self.byte(self.cursor + 1));
                    self.text.replace_range(a..b, "");
                }
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            _ => {
                self.selected = was_selected;
                return false;
            }
        }
        true
    }

    /// The text before the cursor, the character under it (a space at the end), and the rest.
    pub fn around_cursor(&self) -> (String, String, String) {
        let chars: Vec<char> = self.text.chars().collect();
        let at = self.cursor.min(chars.len());
        let under = chars.get(at).map_or(" ".to_string(), |c| c.to_string());
        let after = chars
            .get(at + 1..)
            .map_or(String::new(), |r| r.iter().collect());
        (chars[..at].iter().collect(), under, after)
    }

    /// In the export box, Tab swaps the file extension: .csv → .json → .parquet → .xlsx.
    pub fn cycle_export_format(&mut self) {
        const EXTS: [&str; 4] = ["csv", "json", "parquet", "xlsx"];
        if self.kind != InputKind::ExportPath {
            return;
        }
        let p = std::path::Path::new(&self.text);
        let cur = p
            .extension()
            .and_then(|e| EXTS.iter().position(|x| e.eq_ignore_ascii_case(x)));
        let next = EXTS[cur.map_or(0, |c| (c + 1) % EXTS.len())];
        self.text = p.with_extension(next).display().to_string();
        self.cursor = self.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_the_export_extension_and_nothing_else() {
        let mut i = Input::new(InputKind::ExportPath, "out/targets-top5.csv".into());
        let mut seen = Vec::new();
        for _ in 0..4 {
            i.cycle_export_format();
            seen.push(i.text.clone());
        }
        assert_eq!(
            seen,
            [
                "out/targets-top5.json",
                "out/targets-top5.parquet",
                "out/targets-top5.xlsx",
                "out/targets-top5.csv"
            ]
        );
        let mut s = Input::new(InputKind::Search, "12.csv".into());
        s.cycle_export_format();
        assert_eq!(s.text, "12.csv", "only the export box has formats");
    }

    fn typed(i: &mut Input, keys: &[(KeyCode, KeyModifiers)]) {
        for &(c, m) in keys {
            i.key(c, m);
        }
    }

    const N: KeyModifiers = KeyModifiers::NONE;
    const C: KeyModifiers = KeyModifiers::CONTROL;

    #[test]
    fn edits_as_at_a_shell_prompt() {
        let ch = |c| (KeyCode::Char(c), N);
        // A proposed path is selected: typing replaces it.
        let mut i = Input::new(InputKind::ExportPath, "run/targets-top5.csv".into());
        typed(&mut i, &[ch('a'), ch('.'), ch('c'), ch('s'), ch('v')]);
        assert_eq!(i.text, "a.csv");
        // A movement keeps it and drops the selection; then typing inserts at the cursor.
        let mut i = Input::new(InputKind::ExportPath, "run/t.csv".into());
        typed(
            &mut i,
            &[(KeyCode::Home, N), ch('x'), (KeyCode::End, N), ch('!')],
        );
        assert_eq!(i.text, "xrun/t.csv!");
        // Left, Backspace and Delete in the middle.
        typed(
            &mut i,
            &[
                (KeyCode::Left, N),
                (KeyCode::Left, N),
                (KeyCode::Backspace, N),
            ],
        );
        assert_eq!((i.text.as_str(), i.cursor), ("xrun/t.cv!", 8));
        typed(&mut i, &[(KeyCode::Delete, N)]);
        assert_eq!(i.text, "xrun/t.c!");
        // Ctrl-W deletes the word before the cursor (a path segment), Ctrl-U all before it.
        let mut i = Input::new(InputKind::ExportPath, String::new());
        typed(&mut i, &"out/list one".chars().map(ch).collect::<Vec<_>>());
        typed(&mut i, &[(KeyCode::Char('w'), C)]);
        assert_eq!(i.text, "out/list ");
        typed(&mut i, &[(KeyCode::Char('w'), C)]);
        assert_eq!(i.text, "out/");
        typed(
            &mut i,
            &[
                (KeyCode::Char('a'), C),
                ch('>'),
                (KeyCode::Char('e'), C),
                ch('<'),
            ],
        );
        assert_eq!(i.text, ">out/<");
        typed(&mut i, &[(KeyCode::Left, N), (KeyCode::Char('u'), C)]);
        assert_eq!((i.text.as_str(), i.cursor), ("<", 0));
        typed(&mut i, &[(KeyCode::Char('k'), C)]);
        assert_eq!(i.text, "");
        // Characters beyond ASCII move as one.
        let mut i = Input::new(InputKind::Search, String::new());
        typed(
            &mut i,
            &[
                ch('é'),
                ch('ü'),
                (KeyCode::Left, N),
                (KeyCode::Backspace, N),
            ],
        );
        assert_eq!(i.text, "ü");
        assert_eq!(
            i.around_cursor(),
            (String::new(), "ü".into(), String::new())
        );
    }
}

//! The one-line input box: what it asks for and the text typed so far.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Search,
    K,
    ExportPath,
    AddUser,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
}

impl Input {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_cycles_the_export_extension_and_nothing_else() {
        let mut i = Input {
            kind: InputKind::ExportPath,
            text: "out/targets-top5.csv".into(),
        };
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
        let mut s = Input {
            kind: InputKind::Search,
            text: "12.csv".into(),
        };
        s.cycle_export_format();
        assert_eq!(s.text, "12.csv", "only the export box has formats");
    }
}

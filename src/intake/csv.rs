//! Reading a CSV export from a student-information system into award
//! requests. Pure: bytes in, rows out. What people's spreadsheets actually
//! produce is accepted (a UTF-8 byte-order mark, `;` as separator, Dutch
//! dates `31-01-2026`, decimal commas in grades); what would make the
//! import ambiguous refuses the whole file with every problem named
//! (another encoding, missing or unknown columns, a record id twice, rows
//! with too many or too few cells), so nothing is half-imported.
//!
//! A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab
//! or carriage return first) refuses its row, and is never written back
//! into a results file as it was (see [`neutralise`]).

use crate::domain::award::{AwardRecordInput, LearnerInput};
use crate::domain::microcredential::ValidationErrors;
use crate::issuance::{AchievementRef, AwardRequest};
use std::collections::HashMap;

/// The columns, as documented (docs/imports.md).
pub const COLUMNS: &[&str] = &[
    "record_id",
    "eppn",
    "email",
    "given_name",
    "surname_prefix",
    "surname",
    "student_number",
    "course_code",
    "achievement_id",
    "grade",
    "completed_on",
    "evidence_url",
];

/// Columns every file must have (the achievement may also come from the
/// command line; the learner needs `eppn` or `email`).
const REQUIRED: &[&str] = &["record_id", "given_name", "surname", "completed_on"];

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 200_000;

/// One data row: its line in the file, its record id, and the award request
/// it makes, or why it cannot be one.
#[derive(Debug, Clone)]
pub struct CsvRow {
    /// The line number in the file (the header is line 1).
    pub line: usize,
    pub record_id: String,
    pub request: Result<AwardRequest, ValidationErrors>,
    /// The row's cells as read, for a results file.
    pub cells: Vec<String>,
}

/// A file that was read: its header and rows.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub header: Vec<String>,
    pub delimiter: u8,
    pub rows: Vec<CsvRow>,
}

/// Reads `bytes`. `achievement` is the achievement for rows without a
/// `course_code` or `achievement_id` cell. Errors: every problem that makes
/// the file as a whole unusable, as (where, message).
pub fn read(bytes: &[u8], achievement: Option<&str>) -> Result<CsvFile, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            return Err(vec![(
                format!("line {line}"),
                "the file is not UTF-8 text (saved as ANSI or Windows-1252?); save it as \"CSV UTF-8\" and try again"
                    .to_owned(),
            )]);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(vec![("file".into(), "is empty: expected a header line and at least one row".into())]);
    }
    let first_line = text.lines().next().unwrap_or_default();
    // Excel in a Dutch locale writes `;`: the header tells which it is.
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(row)) => row.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        Some(Err(e)) => return Err(vec![("line 1".into(), format!("cannot be read: {e}"))]),
        None => return Err(vec![("file".into(), "has no header line".into())]),
    };
    let mut position = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push((
                format!("column {} ({name})", i + 1),
                format!("is not a known column; the columns are: {}", COLUMNS.join(", ")),
            ));
        } else if position.insert(name.clone(), i).is_some() {
            problems.push((format!("column {} ({name})", i + 1), "appears twice in the header".into()));
        }
    }
    for required in REQUIRED {
        if !position.contains_key(*required) {
            problems.push(("header".into(), format!("the column {required} is missing")));
        }
    }
    if !position.contains_key("eppn") && !position.contains_key("email") {
        problems.push(("header".into(), "needs an eppn or an email column (or both)".into()));
    }
    if achievement.is_none() && !position.contains_key("course_code") && !position.contains_key("achievement_id") {
        problems.push((
            "header".into(),
            "needs a course_code or achievement_id column, or give the achievement (--achievement)".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, record) in records.enumerate() {
        let line = n + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.push((format!("line {line}"), format!("cannot be read: {e}")));
                continue;
            }
        };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue; // spreadsheets end with empty rows
        }
        if record.len() != header.len() {
            problems.push((
                format!("line {line}"),
                format!("has {} cells where the header has {} columns", record.len(), header.len()),
            ));
            continue;
        }
        if rows.len() == MAX_ROWS {
            problems.push(("file".into(), format!("has more than {MAX_ROWS} rows; split it")));
            break;
        }
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        let cell = |name: &str| position.get(name).map(|&i| cells[i].trim()).filter(|c| !c.is_empty());
        let record_id = cell("record_id").unwrap_or_default().to_owned();
        if !record_id.is_empty()
            && let Some(first) = seen.insert(record_id.clone(), line)
        {
            problems.push((
                format!("line {line}"),
                format!("record_id {record_id} is also on line {first}: each record once per file"),
            ));
        }
        let request = row_request(&header, &cells, &position, achievement);
        rows.push(CsvRow { line, record_id, request, cells });
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(("file".into(), "has a header but no rows".into()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CsvFile { header, delimiter, rows })
}

/// One row as an award request, or every problem of the row.
fn row_request(
    header: &[String],
    cells: &[String],
    position: &HashMap<String, usize>,
    achievement: Option<&str>,
) -> Result<AwardRequest, ValidationErrors> {
    let mut problems = ValidationErrors::new();
    for (name, value) in header.iter().zip(cells) {
        if is_formula(value) {
            problems.push(
                name.clone(),
                "starts like a spreadsheet formula (=, +, -, @); remove it, formulas are never imported",
            );
        }
    }
    let cell = |name: &str| {
        position.get(name).map(|&i| cells[i].trim().to_owned()).filter(|c| !c.is_empty() && !is_formula(c))
    };
    let completed_on = cell("completed_on").map(|date| match iso_date(&date) {
        Some(iso) => iso,
        None => {
            problems.push("completed_on", "must be a date: 2026-01-31, 31-01-2026 or 31/01/2026");
            date
        }
    });
    let achievement = match (cell("achievement_id"), cell("course_code"), achievement) {
        (Some(id), None, _) => Some(AchievementRef::Id(id)),
        (None, Some(code), _) => Some(AchievementRef::CourseCode(code)),
        (Some(_), Some(_), _) => {
            problems.push("course_code", "give achievement_id or course_code, not both");
            None
        }
        (None, None, Some(default)) => Some(AchievementRef::Id(default.to_owned())),
        (None, None, None) => None,
    };
    // A decimal comma is how a Dutch grade is written: 7,5.
    let grade =
        cell("grade").map(|g| if g.matches(',').count() == 1 && !g.contains('.') { g.replace(',', ".") } else { g });
    let request = AwardRequest {
        achievement,
        record: AwardRecordInput {
            record_id: cell("record_id"),
            learner: Some(LearnerInput {
                eppn: cell("eppn"),
                email: cell("email"),
                given_name: cell("given_name"),
                surname_prefix: cell("surname_prefix"),
                surname: cell("surname"),
                student_number: cell("student_number"),
            }),
            grade,
            completed_on,
            evidence_url: cell("evidence_url"),
            narrative: None,
        },
        shape_problems: problems.clone(),
    };
    if problems.is_empty() { Ok(request) } else { Err(problems) }
}

/// Whether a spreadsheet would evaluate the cell (OWASP CSV injection).
pub fn is_formula(cell: &str) -> bool {
    let trimmed = cell.trim_start_matches([' ']);
    matches!(trimmed.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
        // A negative number or a lone dash is data, not a formula.
        && !trimmed.parse::<f64>().is_ok_and(|_| trimmed.starts_with('-') || trimmed.starts_with('+'))
        && trimmed != "-"
}

/// A cell as it may be written into a CSV someone opens in a spreadsheet:
/// formula-like text is prefixed with `'`, so it stays text.
pub fn neutralise(cell: &str) -> String {
    if is_formula(cell) { format!("'{cell}") } else { cell.to_owned() }
}

/// `2026-01-31`, `31-01-2026`, `31/01/2026`, `31.01.2026` → `2026-01-31`.
fn iso_date(text: &str) -> Option<String> {
    if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Some(text.to_owned());
    }
    ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|format| chrono::NaiveDate::parse_from_str(text, format).ok())
        .map(|date| date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> CsvFile {
        read(text.as_bytes(), None).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn request(row: &CsvRow) -> &AwardRequest {
        row.request.as_ref().unwrap_or_else(|e| panic!("line {}: {e}", row.line))
    }

    #[test]
    fn excel_habits_are_read() {
        let file = ok("\u{feff}record_id;eppn;given_name;surname_prefix;surname;course_code;grade;completed_on\r\n\
                       r1;s1@uni.example.nl;Zoë;de;Vries;MC-1;7,5;31-01-2026\r\n\
                       r2;s2@uni.example.nl;Kim;;Jansen;MC-1;8;2026-02-01\r\n;;;;;;;\r\n");
        assert_eq!(file.delimiter, b';');
        assert_eq!(file.rows.len(), 2);
        let first = request(&file.rows[0]);
        assert_eq!(first.record.grade.as_deref(), Some("7.5"));
        assert_eq!(first.record.completed_on.as_deref(), Some("2026-01-31"));
        assert_eq!(first.achievement, Some(AchievementRef::CourseCode("MC-1".into())));
        let second = request(&file.rows[1]);
        assert_eq!(second.record.learner.as_ref().unwrap().surname_prefix, None);
        assert_eq!(file.rows[1].line, 3);
    }

    #[test]
    fn commas_and_quotes_are_read_too() {
        let file = ok("record_id,email,given_name,surname,achievement_id,completed_on\n\
                       r1,a@b.nl,\"Anne, Marie\",Smit,ach-1,31/01/2026\n");
        let first = request(&file.rows[0]);
        assert_eq!(first.record.learner.as_ref().unwrap().given_name.as_deref(), Some("Anne, Marie"));
        assert_eq!(first.achievement, Some(AchievementRef::Id("ach-1".into())));
    }

    #[test]
    fn file_problems_are_all_named_and_refuse_the_file() {
        let problems = read(b"record_id,given_name,colour,colour\nr1,Sam,red,blue\n", None).unwrap_err();
        let text = format!("{problems:?}");
        for expected in [
            "column 3 (colour)",
            "is not a known column",
            "the column surname is missing",
            "the column completed_on is missing",
            "needs an eppn or an email",
            "needs a course_code",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        let latin1 = b"record_id,email,given_name,surname,course_code,completed_on\nr1,a@b.nl,Zo\xeb,X,C,2026-01-01\n";
        let problems = read(latin1, None).unwrap_err();
        assert!(problems[0].1.contains("not UTF-8") && problems[0].0 == "line 2", "{problems:?}");
        let twice = "record_id,email,given_name,surname,course_code,completed_on\n\
                     r1,a@b.nl,A,B,C,2026-01-01\nr1,c@d.nl,C,D,C,2026-01-01\nr2,x@y.nl,E\n";
        let problems = format!("{:?}", read(twice.as_bytes(), None).unwrap_err());
        assert!(problems.contains("record_id r1 is also on line 2"), "{problems}");
        assert!(problems.contains("line 4") && problems.contains("has 3 cells"), "{problems}");
        assert!(read(b"", None).is_err());
        assert!(read(b"record_id,email,given_name,surname,course_code,completed_on\n", None).is_err());
    }

    #[test]
    fn formulas_refuse_their_row_and_are_neutralised_on_output() {
        let file = ok("record_id,email,given_name,surname,course_code,completed_on,grade\n\
                       r1,a@b.nl,=cmd|' /C calc'!A0,X,C,2026-01-01,-\n\
                       r2,c@d.nl,Ann,@SUM(1),C,2026-01-01,-1\n");
        let problems = file.rows[0].request.as_ref().unwrap_err();
        assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["given_name"]);
        assert!(file.rows[1].request.is_err());
        assert_eq!(neutralise("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(neutralise("-1"), "-1");
        assert_eq!(neutralise("Sam"), "Sam");
    }

    #[test]
    fn the_default_achievement_fills_rows_without_one() {
        let file = read(b"record_id,email,given_name,surname,completed_on\nr1,a@b.nl,A,B,2026-01-01\n", Some("ach-9"))
            .unwrap();
        assert_eq!(request(&file.rows[0]).achievement, Some(AchievementRef::Id("ach-9".into())));
        let bad_date =
            read(b"record_id,email,given_name,surname,completed_on\nr1,a@b.nl,A,B,31-13-2026\n", Some("a")).unwrap();
        assert!(bad_date.rows[0].request.is_err());
    }

    #[test]
    fn the_documented_example_and_template_are_what_the_reader_takes() {
        let file = read(include_bytes!("../../docs/import-example.csv"), None).unwrap();
        assert_eq!(file.rows.len(), 2);
        assert!(file.rows.iter().all(|row| row.request.is_ok()));
        let template = std::str::from_utf8(include_bytes!("../../docs/import-template.csv")).unwrap();
        assert_eq!(template.trim_end().split(';').collect::<Vec<_>>(), COLUMNS);
    }
}

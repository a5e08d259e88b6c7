//! Log lines that cannot carry a control character, whatever an event's fields hold.
//!
//! Log fields often hold text from outside: a CSMS's CallError description, close reason or
//! frame, a charge controller's line, a path or a file's parse error. tracing-subscriber's own
//! field formatter prints a `%value` field raw and escapes only a few characters of the message,
//! so a line feed could forge a log line and an escape sequence could drive the technician's
//! terminal. Instead of trusting every call site to escape, the formatter does it:
//! [`PrintableFields`] for text lines, [`JsonControlEscaper`] for JSON lines.

use std::fmt;
use std::io::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{FormatFields, Writer};

use crate::redact;

/// Formats fields as tracing-subscriber's default does (`message key=value key="text"`), with
/// every control character in names and values escaped (`\n`, `\u{1b}`).
#[derive(Debug, Default, Clone, Copy)]
pub struct PrintableFields;

impl<'writer> FormatFields<'writer> for PrintableFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PrintableVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PrintableVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl PrintableVisitor<'_> {
    fn write(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let value = redact::escape_controls(value);
        self.result = match field.name() {
            "message" => write!(self.writer, "{separator}{value}"),
            name => {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(
                    self.writer,
                    "{separator}{}={value}",
                    redact::escape_controls(name)
                )
            }
        };
    }
}

impl Visit for PrintableVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, value);
        } else {
            // Quoted, as the default formatter shows text fields.
            self.write(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // A record from the `log` crate carries its metadata as `log.*` fields, already shown as
        // the line's target.
        if field.name().starts_with("log.") {
            return;
        }
        self.write(field, &format!("{value:?}"));
    }
}

/// A [`MakeWriter`] for JSON lines: writes each line to the inner writer with DEL and the C1
/// control characters escaped ([`redact::json_printable`]). JSON itself already escapes the
/// rest.
#[derive(Debug, Clone)]
pub struct JsonControlEscaper<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for JsonControlEscaper<M> {
    type Writer = EscapingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// The writer of [`JsonControlEscaper`]. The formatter hands it one whole line per call (and a
/// line is valid UTF-8), so no character is ever split between calls.
#[derive(Debug)]
pub struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact::json_printable(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

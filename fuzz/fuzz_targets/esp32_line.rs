//! The charge controller's serial bytes: `LineSplitter` then `parse_line`. Never a panic, lines
//! bounded and free of line ends, and the chunking of the reads changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_station::esp32::frame::{Line, LineSplitter, MAX_LINE_BYTES, parse_line};

fuzz_target!(|data: &[u8]| {
    // The first byte sets the read size of the chunked pass.
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let mut whole = LineSplitter::new();
    let lines = whole.push(bytes);
    let mut chunked = LineSplitter::new();
    let mut again = Vec::new();
    for piece in bytes.chunks(usize::from(chunk).max(1)) {
        again.extend(chunked.push(piece));
    }
    assert_eq!(lines, again);
    assert_eq!(whole.discarded(), chunked.discarded());
    for line in &lines {
        assert!(line.len() <= MAX_LINE_BYTES);
        assert!(!line.contains(['\r', '\n']));
        if let Line::Status(frame) = parse_line(line) {
            assert!(frame.state.code() <= 8);
        }
    }
    // parse_line also takes what no splitter produced.
    let _ = parse_line(&String::from_utf8_lossy(bytes));
});

/// One CSV record and the physical line it starts on (1-based), so a message can send the user to
/// the right line in an editor even when an earlier quoted cell spans several lines.
struct CSVRecord: Sendable, Equatable {
    var line: Int
    var cells: [String]
}

/// Why the text is not CSV, at a physical line.
struct CSVError: Error, Sendable, Equatable {
    var line: Int
    var message: String
}

/// RFC 4180 records: cells separated by commas, quoted cells with doubled quotes and line breaks
/// inside. Records end with LF, CRLF or a lone CR (the old Mac "CSV" export still in Excel); line
/// breaks inside quoted cells are kept as written. Blank (or whitespace-only) lines are skipped
/// wherever they are, so a trailing newline or two never makes an empty record. The caller strips
/// any BOM first. Cells are never trimmed: RFC 4180 makes spaces part of the value.
enum CSVReader {
    static func records(_ text: String) throws(CSVError) -> [CSVRecord] {
        let bytes = Array(text.utf8)
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var records: [CSVRecord] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var line = 1, recordLine = 1, quoteLine = 1
        var inQuotes = false
        var afterClosingQuote = false
        // A record that had a comma or a quote is never blank, even when every cell is empty.
        var structured = false

        func endCell() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
            afterClosingQuote = false
        }
        func endRecord() {
            let blank = !structured && cells.isEmpty && cell.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            endCell()
            if !blank { records.append(CSVRecord(line: recordLine, cells: cells)) }
            cells.removeAll()
            structured = false
        }

        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if inQuotes {
                if c == quote {
                    if i < bytes.count, bytes[i] == quote {
                        cell.append(quote)
                        i += 1
                    } else {
                        inQuotes = false
                        afterClosingQuote = true
                    }
                    continue
                }
                cell.append(c)
                if c == lf || (c == cr && (i == bytes.count || bytes[i] != lf)) { line += 1 }
                continue
            }
            switch c {
            case comma:
                structured = true
                endCell()
            case cr, lf:
                if c == cr, i < bytes.count, bytes[i] == lf { i += 1 }
                endRecord()
                line += 1
                recordLine = line
            case quote:
                guard cell.isEmpty, !afterClosingQuote else {
                    throw CSVError(line: line, message: "a quote inside an unquoted cell; quote the whole cell and double the quotes in it")
                }
                inQuotes = true
                structured = true
                quoteLine = line
            default:
                if afterClosingQuote {
                    throw CSVError(line: line, message: "text after the closing quote of a cell; quote the whole cell and double the quotes in it")
                }
                cell.append(c)
            }
        }
        if inQuotes { throw CSVError(line: quoteLine, message: "a quoted cell that starts here is never closed") }
        endRecord()
        return records
    }
}

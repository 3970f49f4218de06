import Testing
@testable import HeliosCore

struct CSVReaderTests {
    @Test(arguments: [
        ("a,b\n1,2\n", [CSVRecord(line: 1, cells: ["a", "b"]), CSVRecord(line: 2, cells: ["1", "2"])]),
        ("a,b\r\n1,2", [CSVRecord(line: 1, cells: ["a", "b"]), CSVRecord(line: 2, cells: ["1", "2"])]),
        ("a\n\"x\n\ny\"\nb\n", [CSVRecord(line: 1, cells: ["a"]), CSVRecord(line: 2, cells: ["x\n\ny"]), CSVRecord(line: 5, cells: ["b"])]),
        (",\n\"\"\n", [CSVRecord(line: 1, cells: ["", ""]), CSVRecord(line: 2, cells: [""])]),
        ("\"a,\"\"b\"\"\", c \n", [CSVRecord(line: 1, cells: ["a,\"b\"", " c "])]),
        ("a\r\rb\n\n", [CSVRecord(line: 1, cells: ["a"]), CSVRecord(line: 3, cells: ["b"])]),
        ("é,ü\n", [CSVRecord(line: 1, cells: ["é", "ü"])]),
    ])
    func records(text: String, expected: [CSVRecord]) throws {
        #expect(try CSVReader.records(text) == expected)
    }
}

// findCsvProblem: the first malformed row of a CSV text, by line, or null for well-formed CSV.
import { describe, expect, it } from "vitest";
import { findCsvProblem } from "../../src/io/csv-problem.js";

describe("findCsvProblem", () => {
  it("accepts well-formed CSV: quoted commas, doubled quotes, line breaks in quotes, blank lines, CRLF", () => {
    expect(findCsvProblem('a,b\r\n1,"x,y"\r\n\r\n2,"say ""hi""\nthere"\n')).toBeNull();
    expect(findCsvProblem("\uFEFFa,b\n1,2")).toBeNull();
  });
  it("names the line of a row with too many or too few fields", () => {
    expect(findCsvProblem("a,b\n1,2\n1,2,3\n")).toEqual({ line: 3, problem: "it has 3 fields, the header has 2" });
    expect(findCsvProblem("a,b\n1,2\n\n1\n")).toEqual({ line: 4, problem: "it has 1 field, the header has 2" });
  });
  it("names the line of a quote never closed, or a stray quote", () => {
    expect(findCsvProblem('a,b\n1,2\n2,"x\n3,4\n')?.line).toBe(3);
    expect(findCsvProblem('a,b\n1,2\n2,x"y\n')).toMatchObject({ line: 3, problem: /quote inside an unquoted field/ });
    expect(findCsvProblem('a,b\n1,"x"y\n')).toMatchObject({ line: 2, problem: /follows a quoted field/ });
  });
});

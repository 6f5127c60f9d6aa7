// Package nbjson reads and writes notebooks' JSON: megabytes of it, most
// of it long strings. It reads into the generic values encoding/json
// gives with UseNumber (map[string]any, []any, string, json.Number,
// bool, nil), with its rules (last duplicate key wins, invalid UTF-8 and
// lone surrogates become U+FFFD), and writes them compactly as
// encoding/json does (Writer) or in nbformat's stored layout (Indent),
// several times faster than encoding/json's reflection: a notebook's
// save and load are mostly these loops. BenchmarkCodec compares it with
// encoding/json (and, built with GOEXPERIMENT=jsonv2, encoding/json/v2),
// to show whether it still pays.
package nbjson

// Joined is a list of strings that stands for their concatenation:
// Writer writes it as one string, without making it. A notebook read
// only to be sent keeps its line lists so.
type Joined []any

// Lines is a string nbformat stores as the list of its lines: Indent
// writes it so, without the list being made.
type Lines string

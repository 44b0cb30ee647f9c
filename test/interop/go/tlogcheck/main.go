// tlogcheck: checks fabra's transparency-log output with Go's own implementations of C2SP signed notes
// (golang.org/x/mod/sumdb/note) and RFC 6962 proofs (golang.org/x/mod/sumdb/tlog). Reads one JSON case on stdin;
// prints "ok" and exits 0 when every signature and proof verifies, else prints why and exits 1.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Leaf      string   `json:"leaf"` // base64 of the leaf's bytes
	LeafIndex int64    `json:"leaf_index"`
	Hashes    []string `json:"hashes"`
}

type input struct {
	VerifierKey   string      `json:"verifier_key"`
	Checkpoint    string      `json:"checkpoint"`
	OldCheckpoint string      `json:"old_checkpoint"`
	Consistency   []string    `json:"consistency"`
	Inclusions    []inclusion `json:"inclusions"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

// openCheckpoint verifies the signed note and parses the C2SP tlog-checkpoint body (origin, size, root hash).
func openCheckpoint(text string, verifier note.Verifier) (string, int64, tlog.Hash) {
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("tree size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("root hash: %v", err)
	}
	return lines[0], size, root
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("hash %d: %v", i, err)
		}
		out[i] = h
	}
	return out
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("input: %v", err)
	}
	verifier, err := note.NewVerifier(in.VerifierKey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	_, size, root := openCheckpoint(in.Checkpoint, verifier)
	for _, inc := range in.Inclusions {
		data, err := base64.StdEncoding.DecodeString(inc.Leaf)
		if err != nil {
			fail("leaf: %v", err)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(hashes(inc.Hashes)), size, root, inc.LeafIndex, tlog.RecordHash(data)); err != nil {
			fail("tlog.CheckRecord leaf %d of %d: %v", inc.LeafIndex, size, err)
		}
	}
	if in.OldCheckpoint != "" {
		_, oldSize, oldRoot := openCheckpoint(in.OldCheckpoint, verifier)
		if err := tlog.CheckTree(tlog.TreeProof(hashes(in.Consistency)), size, root, oldSize, oldRoot); err != nil {
			fail("tlog.CheckTree %d -> %d: %v", oldSize, size, err)
		}
	}
	fmt.Println("ok")
}
